export { createLogger, silentLogger, LOG_LEVELS, type Logger, type LogLevel, type LogFields, type LoggerInit } from './logger.js'
export { Metrics, METRIC_PREFIX } from './metrics.js'
export { registerListenerGauge, emitterListenerCount, targetListenerCount, type CountableEmitter, type CountableTarget } from './listeners.js'
export { contractChecks, unexpectedErrorReporter } from './unexpected.js'
