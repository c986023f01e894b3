// First import: the Node 20 polyfill that libp2p v3 needs.
import '../main/polyfill.js'

// Results and events are checked against their schemas on the way out too, here and in
// every daemon a test starts (they inherit the environment): a broken contract fails loudly.
process.env.BSV_P2P_CONTRACT_CHECKS = '1'
