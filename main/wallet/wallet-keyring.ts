import { ContractError } from '../../shared/contract/index.js'
import type { Network } from '../config/index.js'
import type { Logger } from '../telemetry/index.js'
import { type Keystore, PassphraseKeystore, PlainKeystore, WrongPassphraseError, sealedKind } from './keystore.js'
import { type AddressChain, WalletKeys, assertValidMnemonic, generateMnemonic } from './mnemonic.js'
import { WalletConfigError, WalletLockedError } from './wallet-errors.js'
import type { WalletRepository } from './wallet-repository.js'

export interface WalletKeyringInit {
  network: Network
  /** Addresses watched beyond the last used one, per chain. */
  gapLimit: number
  /** The keystore to seal with; without one, `passphrase` makes a PassphraseKeystore, and without that the wallet is unencrypted (refused on mainnet). */
  keystore?: Keystore
  passphrase?: string
  /** scrypt cost for passphrase keystores made here; tests lower it. */
  scryptLogN?: number
}

/**
 * The wallet's keys and addresses: the phrase sealed at rest (create, open, back up,
 * restore), addresses issued and watched within the gap limit, and the keys derived from
 * the phrase for sends and channels. Nothing here talks to the chain.
 */
export class WalletKeyring {
  private keystore: Keystore
  private keys: WalletKeys | null = null
  /** Bumped by restore: work that began on the wallet before it must not write its findings. */
  private generationCount = 0

  constructor(
    private readonly components: { repo: WalletRepository; logger: Logger },
    private readonly init: WalletKeyringInit,
  ) {
    this.keystore = init.keystore ?? (init.passphrase ? new PassphraseKeystore({ passphrase: init.passphrase, scryptLogN: init.scryptLogN }) : new PlainKeystore())
    if (init.network === 'mainnet' && this.keystore.protection === 'none') {
      throw new WalletConfigError('a mainnet wallet must be encrypted: give a passphrase (--passphrase-file or BSV_P2P_PASSPHRASE)')
    }
  }

  private get repo(): WalletRepository {
    return this.components.repo
  }

  get ready(): boolean {
    return this.keys !== null
  }

  /** Which wallet is open: it changes when a restore replaces it. */
  get generation(): number {
    return this.generationCount
  }

  /** The open wallet's keys; `invalid_state` while none is open. */
  require(): WalletKeys {
    if (!this.keys) throw new ContractError('invalid_state', 'the wallet is not open')
    return this.keys
  }

  /** The open wallet's keys, or null while none is open. */
  current(): WalletKeys | null {
    return this.keys
  }

  /** Opens the stored wallet, or creates one on first start. */
  async open(): Promise<void> {
    const row = this.repo.keys()
    const network = this.init.network
    if (!row) {
      if (this.keystore.protection === 'none') this.components.logger.warn('the wallet is NOT encrypted: anyone who can read the data dir can spend its coins', { network })
      const mnemonic = generateMnemonic()
      const keys = new WalletKeys(mnemonic, network)
      const sealed = await this.keystore.seal(Buffer.from(mnemonic, 'utf8'))
      this.repo.replaceWallet(network, sealed, this.keystore.protection, [{ address: keys.address(0, 0), chain: 0, idx: 0, issued: true }])
      this.keys = keys
      this.components.logger.info('new wallet created', { network, protection: this.keystore.protection })
      return
    }
    if (row.network !== network) throw new WalletConfigError(`this data dir holds a ${row.network} wallet; the engine runs on ${network}`)
    const kind = sealedKind(row.sealed)
    if (kind === 'passphrase' && this.keystore.protection !== 'passphrase') throw new WalletLockedError('the wallet is encrypted: give its passphrase (--passphrase-file or BSV_P2P_PASSPHRASE)')
    if (kind === 'plain' && network === 'mainnet') throw new WalletConfigError('this mainnet wallet is stored unencrypted; refusing to use it')
    if (kind === 'os' && this.keystore.protection !== 'os') throw new WalletLockedError('the wallet is sealed by the OS keychain of the desktop app')
    // Opening an unencrypted wallet needs no key; a passphrase given now encrypts it.
    const opener = kind === 'plain' ? new PlainKeystore() : this.keystore
    const mnemonic = Buffer.from(await opener.open(row.sealed)).toString('utf8')
    const keys = new WalletKeys(assertValidMnemonic(mnemonic), network)
    if (kind === 'plain' && this.keystore.protection !== 'none') {
      this.repo.reseal(await this.keystore.seal(Buffer.from(mnemonic, 'utf8')), this.keystore.protection)
      this.components.logger.info('the wallet is now encrypted')
    }
    this.keys = keys
  }

  close(): void {
    this.keys = null
  }

  /** The recovery words: behind the passphrase when there is one, else behind the OS account. */
  async backup(passphrase: string): Promise<{ mnemonic: string }> {
    this.require()
    const row = this.repo.keys()
    if (!row) throw new ContractError('invalid_state', 'the wallet has no keys')
    const kind = sealedKind(row.sealed)
    if (kind === 'passphrase') {
      try {
        const opened = await new PassphraseKeystore({ passphrase: passphrase || ' ' }).open(row.sealed)
        return { mnemonic: Buffer.from(opened).toString('utf8') }
      } catch (err) {
        if (err instanceof WrongPassphraseError) throw new ContractError('wrong_passphrase', 'wrong passphrase: the recovery words stay hidden')
        throw err
      }
    }
    // Unencrypted (devnet/testnet only) or sealed by the OS keychain: the OS account is the gate.
    this.components.logger.warn('recovery words revealed for a wallet without a passphrase', { protection: kind })
    return { mnemonic: Buffer.from(await this.keystore.open(row.sealed)).toString('utf8') }
  }

  /**
   * Replaces the wallet with the one `mnemonic` makes, sealed with `passphrase` when given
   * (else as now). Refused while a send holds coins: its outcome belongs to this wallet.
   */
  async restore(params: { mnemonic: string; passphrase?: string }): Promise<void> {
    const mnemonic = assertValidMnemonic(params.mnemonic)
    if (this.repo.countReserved() > 0) throw new ContractError('conflict', 'a send is in flight; restore when it has finished')
    const keystore = params.passphrase ? new PassphraseKeystore({ passphrase: params.passphrase, scryptLogN: this.init.scryptLogN }) : this.keystore
    if (this.init.network === 'mainnet' && keystore.protection === 'none') throw new ContractError('invalid_params', 'a mainnet wallet must be encrypted: give a passphrase', { field: 'passphrase' })
    const keys = new WalletKeys(mnemonic, this.init.network)
    const sealed = await keystore.seal(Buffer.from(mnemonic, 'utf8'))
    // Sealing took time: a send may have started meanwhile.
    if (this.repo.countReserved() > 0) throw new ContractError('conflict', 'a send is in flight; restore when it has finished')
    this.generationCount++
    this.repo.replaceWallet(this.init.network, sealed, keystore.protection, [{ address: keys.address(0, 0), chain: 0, idx: 0, issued: true }])
    this.keystore = keystore
    this.keys = keys
    this.components.logger.info('wallet restored from a recovery phrase')
  }

  /** A fresh receive address, the current one from now on. */
  newReceiveAddress(): { address: string } {
    const keys = this.require()
    const idx = this.repo.chainStats(0).maxIssued + 1
    const address = keys.address(0, idx)
    this.repo.insertAddress({ address, chain: 0, idx, issued: true })
    return { address }
  }

  /** A fresh internal (change-chain) address; runs inside the caller's transaction when there is one. */
  issueChangeAddress(): string {
    const keys = this.require()
    return this.repo.transaction(() => {
      const idx = this.repo.chainStats(1).maxIssued + 1
      const address = keys.address(1, idx)
      this.repo.insertAddress({ address, chain: 1, idx, issued: true })
      return address
    })
  }

  /** Keep `gapLimit` unused addresses beyond the last used one on each chain, and a fresh current receive address. */
  ensureGap(): void {
    const keys = this.keys
    if (!keys) return
    this.repo.transaction(() => {
      for (const chain of [0, 1] as AddressChain[]) {
        const { maxIdx, maxUsed } = this.repo.chainStats(chain)
        for (let idx = maxIdx + 1; idx <= maxUsed + this.init.gapLimit; idx++) this.repo.insertAddress({ address: keys.address(chain, idx), chain, idx, issued: false })
      }
      const current = this.repo.currentReceive()
      const { maxUsed } = this.repo.chainStats(0)
      // The receive address moves on once it has been paid (fresh address per payment);
      // after a restore, it is the one after the last used.
      if (!current || current.used || current.idx < maxUsed) {
        const idx = Math.max(current?.idx ?? -1, maxUsed) + 1
        this.repo.insertAddress({ address: keys.address(0, idx), chain: 0, idx, issued: true })
      }
    })
  }

  /** Where `address` sits in this wallet's keys, or null when it is not one of its addresses. */
  addressPath(address: string): { chain: AddressChain; idx: number } | null {
    return this.repo.addressPath(address)
  }

  /** Addresses watched (and kept out of new issues) from now on; refused whole if one is not this wallet's own. */
  adoptAddresses(list: readonly { address: string; chain: AddressChain; idx: number }[]): void {
    const keys = this.require()
    for (const a of list) if (keys.address(a.chain, a.idx) !== a.address) throw new ContractError('invalid_params', `address ${a.address} is not this wallet's (chain ${a.chain}, index ${a.idx})`)
    this.repo.transaction(() => {
      for (const a of list) this.repo.insertAddress({ ...a, issued: true })
    })
  }

  /** The private key of the address at `chain`/`idx`, as 32 big-endian bytes. */
  privateKeyBytes(chain: AddressChain, idx: number): Uint8Array {
    return Uint8Array.from(this.require().privateKey(chain, idx).toArray('be', 32))
  }

  /** The private key of payment channel number `index`, derived on demand (never stored): a restored wallet can still sign for its channels. */
  channelPrivateKey(index: number): Uint8Array {
    if (!Number.isSafeInteger(index) || index < 0 || index >= 0x80000000) throw new RangeError('channel key index out of range')
    return Uint8Array.from(this.require().channelPrivateKey(index).toArray('be', 32))
  }

  /** The key sealing the channel backup file, and whose wallet it is (its first receive address); null while no wallet is open. */
  channelBackupSecret(): { key: Uint8Array; wallet: string } | null {
    if (!this.keys) return null
    // The first address as stored when the wallet was made or restored: deriving it would put
    // the account's EC work on the start path (the channel engine asks at start).
    return { key: this.keys.secretFor('channel backup'), wallet: this.repo.addressAt(0, 0) ?? this.keys.address(0, 0) }
  }
}
