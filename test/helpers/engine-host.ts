import { Engine, type EngineInit } from '../../main/engine/engine.js'
import { EngineHost } from '../../main/engine/engine-host.js'
import { silentLogger } from '../../main/telemetry/index.js'

/**
 * An engine held as the daemon and the app hold one, for a test that needs the whole contract
 * (an engine's own handlers lack `restartNode`, which only its host can do). A restart rebuilds
 * it from the same configuration.
 */
export function hostedEngine(init: EngineInit): EngineHost {
  return new EngineHost({
    config: init.config,
    reload: () => init.config,
    build: (config, events) => new Engine({ ...init, config, events }),
    logger: init.logger ?? silentLogger,
  })
}
