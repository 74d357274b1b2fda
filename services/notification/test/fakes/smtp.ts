/** A real SMTP server (the `smtp-server` package) that can be told to reject or defer recipients. Test-only. */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  to: string[];
  raw: string;
  messageId: string | undefined;
}

export interface FakeSmtp {
  url: string;
  mails: ReceivedMail[];
  /** Recipient -> SMTP reply code to answer RCPT TO with (550 permanent, 451 transient). */
  rejectRecipient(address: string, code: number, times?: number): void;
  /** Unfolded, quoted-printable-decoded text of the mails to `address`. */
  mailsTo(address: string): ReceivedMail[];
  close(): Promise<void>;
}

export async function startFakeSmtp(): Promise<FakeSmtp> {
  const mails: ReceivedMail[] = [];
  const rejections = new Map<string, { code: number; times: number }>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const rule = rejections.get(address.address.toLowerCase());
      if (rule && rule.times > 0) {
        rule.times -= 1;
        const error = Object.assign(new Error(rule.code >= 500 ? 'No such user here' : 'Try again later'), {
          responseCode: rule.code,
        });
        callback(error);
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const messageId = /^Message-ID:\s*(.+)$/im.exec(raw)?.[1]?.trim();
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()), raw, messageId });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    rejectRecipient(address, code, times = Number.POSITIVE_INFINITY) {
      rejections.set(address.toLowerCase(), { code, times });
    },
    mailsTo: (address) => mails.filter((m) => m.to.includes(address.toLowerCase())),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
