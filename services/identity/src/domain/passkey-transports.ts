/** How a browser may reach an authenticator (WebAuthn's transports that @simplewebauthn/server knows). */
import type { AuthenticatorTransport } from '@simplewebauthn/server';

const TRANSPORTS: readonly AuthenticatorTransport[] = ['ble', 'hybrid', 'internal', 'nfc', 'usb'];

export function isTransport(value: string): value is AuthenticatorTransport {
  return (TRANSPORTS as readonly string[]).includes(value);
}

/** The known transports among stored or reported ones; others (a newer browser's) are dropped, not refused. */
export function knownTransports(values: readonly string[]): AuthenticatorTransport[] {
  return values.filter(isTransport);
}
