// First import: the Node 20 polyfill that libp2p v3 needs.
import '../main/polyfill.js'
