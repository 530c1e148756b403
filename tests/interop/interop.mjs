// SPDX-License-Identifier: Apache-2.0
// The other side of tests/interop/interop.sh: an issuer with its own software. Cards are made and
// checked with @auth0/cose (an independent COSE_Sign1 implementation over Node's crypto) and
// cbor-x, following docs/issuing.md only: nothing here is this project's code.
//
//   node interop.mjs keygen DIR                 an Ed25519 and a P-256 key: DIR/{ed,p256}.{key,pub}.pem,
//                                               prints "ed KID" and "p256 KID" (kid as issuing.md derives it)
//   node interop.mjs sign KEY.pem CLAIMS.json   prints "sorted CODE" (claim keys in bytewise order),
//                                               "insertion CODE" (in the order a program adds them) and,
//                                               for P-256, "compressed CODE" (kid from the 33-byte point)
//   node interop.mjs verify PUBHEX ALG CLAIMS.json CODE...
//                                               checks each card's layout, signature and claims: prints
//                                               "ok KID" or "refused: WHY", a line per card
//   node interop.mjs example EXAMPLEDIR         rebuilds docs/examples/issuing/card.txt from its seed
import { Sign1, Headers, Algorithms } from '@auth0/cose'
import { Encoder } from 'cbor-x'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

// Integer keys stay integers, maps stay maps, byte strings stay untagged.
const cbor = new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false })
const CLEARANCE = -65537
const FIELDS = ['clearance_no', 'passport_no', 'name', 'birth_date', 'sex', 'destination', 'category',
  'employer', 'agency_licence', 'bmet_reg_no', 'pdo_completed'] // clearance map keys 1..11

class Refused extends Error {}
function die (msg) {
  throw new Refused(msg)
}

// base45, RFC 9285
const B45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:'
function b45encode (bytes) {
  let out = ''
  for (let i = 0; i < bytes.length; i += 2) {
    if (i + 1 < bytes.length) {
      let n = bytes[i] * 256 + bytes[i + 1]
      for (let k = 0; k < 3; k++) { out += B45[n % 45]; n = Math.floor(n / 45) }
    } else {
      const n = bytes[i]
      out += B45[n % 45] + B45[Math.floor(n / 45)]
    }
  }
  return out
}
function b45decode (text) {
  const v = [...text].map(c => {
    const i = B45.indexOf(c)
    if (i < 0) die(`not base45: ${JSON.stringify(c)}`)
    return i
  })
  const out = []
  for (let i = 0; i < v.length; i += 3) {
    if (v.length - i >= 3) {
      const n = v[i] + v[i + 1] * 45 + v[i + 2] * 2025
      if (n > 0xffff) die('base45 group too large')
      out.push(n >> 8, n & 0xff)
    } else if (v.length - i === 2) {
      const n = v[i] + v[i + 1] * 45
      if (n > 0xff) die('base45 group too large')
      out.push(n)
    } else die('base45 dangling character')
  }
  return Buffer.from(out)
}

// The public key bytes issuing.md says are hashed: Ed25519's 32 bytes, P-256's 65-byte 04||X||Y.
function publicBytes (key, form = 'uncompressed') {
  const jwk = key.export({ format: 'jwk' })
  const x = Buffer.from(jwk.x, 'base64url')
  if (jwk.kty === 'OKP') return x
  const y = Buffer.from(jwk.y, 'base64url')
  if (form === 'compressed') return Buffer.concat([Buffer.from([2 + (y[31] & 1)]), x])
  return Buffer.concat([Buffer.from([4]), x, y])
}
const kidOf = bytes => crypto.createHash('sha256').update(bytes).digest().subarray(0, 8)
const algOf = key => key.asymmetricKeyType === 'ed25519' ? Algorithms.EdDSA : Algorithms.ES256

function publicKeyFromHex (hex, alg) {
  const raw = Buffer.from(hex, 'hex')
  if (alg === Algorithms.EdDSA && raw.length === 32) {
    return crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' })
  }
  if (alg === Algorithms.ES256 && raw.length === 65 && raw[0] === 4) {
    return crypto.createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') },
      format: 'jwk'
    })
  }
  die(`public key ${hex} is not a ${alg} key as issuing.md describes`)
}

const seconds = t => typeof t === 'number' ? t : Math.floor(Date.parse(t) / 1000)
const days = d => Math.round(Date.parse(d + 'T00:00:00Z') / 86400000)

// The claims map of credential-format.md: 4 exp, 6 iat, -65537 the clearance map 1..11.
function claimsMap (json, order) {
  const clearance = new Map(FIELDS.map((f, i) => [i + 1, f === 'birth_date' ? days(json[f]) : json[f]]))
  const top = [[4, seconds(json.expires_at)], [6, seconds(json.issued_at)], [CLEARANCE, clearance]]
  // Bytewise order of the encoded keys (RFC 8949 4.2.1): 04 < 06 < 3a..., which is the list above.
  // Insertion order as a program would write it: iat first, the clearance map's fields reversed.
  if (order === 'insertion') {
    return new Map([top[1], top[0], [CLEARANCE, new Map([...clearance].reverse())]])
  }
  return new Map(top)
}

async function keygen (dir) {
  const out = []
  for (const [name, type, opts] of [['ed', 'ed25519', {}], ['p256', 'ec', { namedCurve: 'P-256' }]]) {
    const { publicKey, privateKey } = crypto.generateKeyPairSync(type, opts)
    fs.writeFileSync(path.join(dir, `${name}.key.pem`), privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 })
    fs.writeFileSync(path.join(dir, `${name}.pub.pem`), publicKey.export({ format: 'pem', type: 'spki' }))
    out.push(`${name} ${kidOf(publicBytes(publicKey)).toString('hex')}`)
  }
  console.log(out.join('\n'))
}

async function sign (keyFile, claimsFile) {
  const key = crypto.createPrivateKey(fs.readFileSync(keyFile))
  const pub = crypto.createPublicKey(key)
  const json = JSON.parse(fs.readFileSync(claimsFile, 'utf8'))
  const variants = [['sorted', 'uncompressed', 'sorted'], ['insertion', 'uncompressed', 'insertion']]
  if (key.asymmetricKeyType === 'ec') variants.push(['compressed', 'compressed', 'sorted'])
  for (const [name, form, order] of variants) {
    const kid = kidOf(publicBytes(pub, form))
    const payload = cbor.encode(claimsMap(json, order))
    const msg = await Sign1.sign(new Map([[Headers.Algorithm, algOf(key)], [Headers.KeyID, kid]]), new Map(), payload, key)
    console.log(`${name} BC1:${b45encode(msg.encode())}`)
  }
}

// Every rule of issuing.md a desk's card must meet, then the signature, then the claims.
async function verifyOne (code, pub, alg, json) {
  if (!code.startsWith('BC1:')) die('no BC1: prefix')
  const bytes = b45decode(code.slice(4))
  if (bytes[0] !== 0xd2) die(`not tag 18: starts ${bytes.subarray(0, 2).toString('hex')}`)
  const msg = Sign1.decode(bytes)
  if (!Buffer.from(msg.encode()).equals(bytes)) die('the message does not re-encode to the same bytes')
  const kid = kidOf(publicBytes(pub))
  const want = Buffer.concat([Buffer.from([0xa2, 0x01, -1 - alg + 0x20, 0x04, 0x48]), kid])
  if (!Buffer.from(msg.encodedProtectedHeaders).equals(want)) {
    die(`protected header ${Buffer.from(msg.encodedProtectedHeaders).toString('hex')}, issuing.md says ${want.toString('hex')}`)
  }
  if (msg.unprotectedHeaders.size !== 0) die('the unprotected header is not empty')
  if (msg.signature.length !== 64) die(`signature of ${msg.signature.length} bytes`)
  await msg.verify(pub) // throws on a bad signature
  // Our tools write sorted keys: the payload is exactly the sorted encoding of the claims.
  if (!Buffer.from(cbor.encode(claimsMap(json, 'sorted'))).equals(Buffer.from(msg.payload))) {
    die(`claims ${JSON.stringify([...cbor.decode(msg.payload)])} differ from the claims file`)
  }
  return `ok ${kid.toString('hex')}`
}

async function verify (pubHex, algName, claimsFile, ...codes) {
  const alg = { EdDSA: Algorithms.EdDSA, ES256: Algorithms.ES256 }[algName]
  const pub = publicKeyFromHex(pubHex, alg)
  const json = JSON.parse(fs.readFileSync(claimsFile, 'utf8'))
  for (const code of codes) {
    console.log(await verifyOne(code, pub, alg, json).catch(e => `refused: ${e.message}`))
  }
}

// docs/issuing.md's worked example: the library, given the published seed, makes card.txt exactly.
async function example (dir) {
  const seed = Buffer.from(fs.readFileSync(path.join(dir, 'seed.hex'), 'utf8').trim(), 'hex')
  const pubHex = fs.readFileSync(path.join(dir, 'public.hex'), 'utf8').trim()
  const card = fs.readFileSync(path.join(dir, 'card.txt'), 'utf8').trim()
  const key = crypto.createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8'
  })
  if (publicBytes(crypto.createPublicKey(key)).toString('hex') !== pubHex) die('public.hex is not the seed\'s key')
  const msg = Sign1.decode(b45decode(card.slice(4)))
  await msg.verify(publicKeyFromHex(pubHex, Algorithms.EdDSA))
  const kid = kidOf(Buffer.from(pubHex, 'hex'))
  const again = await Sign1.sign(new Map([[Headers.Algorithm, Algorithms.EdDSA], [Headers.KeyID, kid]]), new Map(),
    msg.payload, key)
  const text = 'BC1:' + b45encode(again.encode())
  if (text !== card) die(`the worked example signed again differs:\n${text}\n${card}`)
  console.log(`ok example ${kid.toString('hex')}`)
}

const [cmd, ...args] = process.argv.slice(2)
try {
  if (cmd === 'keygen' && args.length === 1) await keygen(args[0])
  else if (cmd === 'sign' && args.length === 2) await sign(...args)
  else if (cmd === 'verify' && args.length >= 4) await verify(...args)
  else if (cmd === 'example' && args.length === 1) await example(args[0])
  else die('usage: keygen DIR | sign KEY CLAIMS | verify PUBHEX ALG CLAIMS CODE... | example DIR')
} catch (e) {
  console.error(`interop: ${cmd}: ${e.message}`)
  process.exit(1)
}
