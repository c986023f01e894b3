export { createLogger, silentLogger, LOG_LEVELS, type Logger } from './logger.js'
export { Metrics } from './metrics.js'
export { registerListenerGauge, emitterListenerCount, targetListenerCount } from './listeners.js'
export { contractChecks, unexpectedErrorReporter } from './unexpected.js'
