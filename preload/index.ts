// The sandboxed preload: the page gets one frozen `window.bridge` and nothing else.
import { contextBridge, ipcRenderer } from 'electron'
import { createBridge } from './bridge.js'

contextBridge.exposeInMainWorld('bridge', createBridge(ipcRenderer))
