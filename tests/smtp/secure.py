"""A relay as production ones are, for the mail tests: TLS and a password. `starttls` listens in
plain text and must be upgraded with STARTTLS before AUTH or mail; `smtps` speaks TLS from the
first byte (RFC 8314). Either accepts AUTH PLAIN/LOGIN for the one user given, refuses mail
without it, and keeps each message with RawDrop.

Run: PYTHONPATH=$NMC_AIOSMTPD_PATH:tests/smtp python3 -m secure MODE PORT DIR CERT KEY USER PASSWORD
"""
import asyncio
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult

from rawdrop import RawDrop


def main():
    mode, port, folder, cert, key, user, password = sys.argv[1:8]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = RawDrop(folder)

    def authenticator(server, session, envelope, mechanism, data):
        ok = data.login == user.encode() and data.password == password.encode()
        # handled=False: aiosmtpd answers a failure with 535 itself.
        return AuthResult(success=ok, handled=False)

    def protocol():
        if mode == "smtps":
            # The whole connection is TLS already, which aiosmtpd's STARTTLS check cannot see.
            return SMTP(handler, authenticator=authenticator, auth_required=True,
                        auth_require_tls=False)
        return SMTP(handler, tls_context=context, require_starttls=True,
                    authenticator=authenticator, auth_required=True)

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(
        protocol, "127.0.0.1", int(port), ssl=context if mode == "smtps" else None))
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
