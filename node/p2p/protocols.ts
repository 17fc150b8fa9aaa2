// Versioned ids of Sandrun's stream protocols (docs/network.md, "The flow"). A breaking wire change gets a new
// version next to the old one, so mixed-version networks keep working during upgrades.
export const bundleProtocol = '/sandrun/bundle/1.0.0'
export const resultProtocol = '/sandrun/result/1.0.0'
export const logsProtocol = '/sandrun/logs/1.0.0'
/** Pool mode: a gateway hands an allowlisted worker one job (docs/network.md, "Pool mode"). */
export const execProtocol = '/sandrun/exec/1.0.0'
