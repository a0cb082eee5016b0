package io.countersign.server.channels;

import io.countersign.server.config.Channels;
import io.countersign.server.config.ConfigException;
import jakarta.mail.AuthenticationFailedException;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.AddressException;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Properties;
import javax.net.ssl.SSLException;
import org.eclipse.angus.mail.smtp.SMTPAddressFailedException;
import org.eclipse.angus.mail.smtp.SMTPSendFailedException;
import org.eclipse.angus.mail.smtp.SMTPSenderFailedException;
import org.eclipse.angus.mail.util.MailConnectException;

/**
 * Sends one message per connection to the configured SMTP server (Jakarta Mail, Eclipse Angus).
 *
 * <p>The password is handed to the transport's {@code connect} and to nothing else: it is not in
 * the session properties, mail debugging stays off, and failures are described from their SMTP
 * reply codes and exception types, never from the server's reply text. 4xx replies, refused
 * connections, timeouts and TLS failures are worth retrying; a 5xx reply to the recipient, the
 * sender or the message is not.
 */
final class EmailSmtp {
    private final Channels.Email config;
    private final Session session;
    private final InternetAddress from;
    private final Duration timeout;

    EmailSmtp(Channels.Email config, Duration timeout) {
        this.config = config;
        this.timeout = timeout;
        this.session = Session.getInstance(properties(config, timeout));
        session.setDebug(false);
        try {
            this.from = new InternetAddress(config.from(), true);
        } catch (AddressException e) {
            throw new ConfigException("channels.email.from: not an email address: '" + config.from() + "'");
        }
    }

    private static Properties properties(Channels.Email c, Duration timeout) {
        Properties p = new Properties();
        String ms = Long.toString(timeout.toMillis());
        if (c.host() != null) p.setProperty("mail.smtp.host", c.host());
        p.setProperty("mail.smtp.port", Integer.toString(c.port()));
        p.setProperty("mail.smtp.connectiontimeout", ms);
        p.setProperty("mail.smtp.timeout", ms);
        p.setProperty("mail.smtp.writetimeout", ms);
        p.setProperty("mail.smtp.auth", Boolean.toString(c.username() != null));
        p.setProperty("mail.smtp.ssl.checkserveridentity", "true");
        switch (c.tls()) {
            case NONE -> {}
            case STARTTLS -> {
                p.setProperty("mail.smtp.starttls.enable", "true");
                p.setProperty("mail.smtp.starttls.required", "true");
            }
            case TLS -> p.setProperty("mail.smtp.ssl.enable", "true");
        }
        return p;
    }

    /** Sends {@code m} to {@code to}; the failure says what failed without the address or a secret. */
    void send(String to, EmailMessage m, Instant now) throws DeliveryFailure {
        MimeMessage message = mime(to, m, now);
        if (config.pickupDir() != null) {
            pickUp(message, now);
            return;
        }
        try (Transport t = session.getTransport("smtp")) {
            String password =
                    config.password() == null ? null : config.password().value();
            t.connect(config.host(), config.port(), config.username(), password);
            t.sendMessage(message, message.getAllRecipients());
        } catch (MessagingException e) {
            throw failure(e, timeout);
        }
    }

    /**
     * Writes the message to the pickup directory as {@code <millis>-<random>.eml}: whole or not at
     * all (written aside, then moved), readable by the owner only, since its link is a credential.
     */
    private void pickUp(MimeMessage message, Instant now) throws DeliveryFailure {
        java.nio.file.Path dir = config.pickupDir();
        String name = now.toEpochMilli() + "-" + Long.toHexString(RANDOM.nextLong() >>> 1) + ".eml";
        try {
            java.nio.file.Files.createDirectories(dir);
            java.nio.file.Path tmp = java.nio.file.Files.createTempFile(
                    dir,
                    ".writing-",
                    ".tmp",
                    java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                            java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
            readable(message);
            try (java.io.OutputStream out = java.nio.file.Files.newOutputStream(tmp)) {
                message.writeTo(out);
            }
            java.nio.file.Files.move(tmp, dir.resolve(name), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (java.io.IOException | MessagingException e) {
            throw DeliveryFailure.retry(
                    "cannot write to the pickup directory: " + e.getClass().getSimpleName());
        }
    }

    private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

    /**
     * A file is read by people (or by an MTA that re-encodes as it must): the parts are written as
     * 8-bit text, so that the links are whole lines, not quoted-printable fragments.
     */
    private static void readable(MimeMessage message) throws MessagingException, java.io.IOException {
        MimeMultipart parts = (MimeMultipart) message.getContent();
        for (int i = 0; i < parts.getCount(); i++) parts.getBodyPart(i).setHeader("Content-Transfer-Encoding", "8bit");
        message.saveChanges();
    }

    private MimeMessage mime(String to, EmailMessage m, Instant now) throws DeliveryFailure {
        try {
            MimeMessage msg = new MimeMessage(session);
            msg.setFrom(from);
            msg.setRecipient(Message.RecipientType.TO, recipient(to));
            msg.setSubject(m.subject(), "UTF-8");
            msg.setSentDate(Date.from(now));
            msg.setHeader("Auto-Submitted", "auto-generated"); // RFC 3834: no auto-replies
            MimeBodyPart text = new MimeBodyPart();
            text.setText(m.text(), "UTF-8");
            MimeBodyPart html = new MimeBodyPart();
            html.setText(m.html(), "UTF-8", "html");
            msg.setContent(new MimeMultipart("alternative", text, html));
            msg.saveChanges();
            return msg;
        } catch (MessagingException e) {
            throw DeliveryFailure.permanent(
                    "cannot build the message: " + e.getClass().getSimpleName());
        }
    }

    private static InternetAddress recipient(String to) throws DeliveryFailure {
        try {
            return new InternetAddress(to, true);
        } catch (AddressException e) {
            throw DeliveryFailure.permanent("the approver's email address is not a valid address");
        }
    }

    /** What went wrong, from the first cause in the chain that says. */
    static DeliveryFailure failure(MessagingException e, Duration timeout) {
        Throwable t = e;
        for (int depth = 0; t != null && depth < 10; depth++, t = t.getCause()) {
            DeliveryFailure f = classify(t, timeout);
            if (f != null) return f;
        }
        return DeliveryFailure.retry(
                "sending through the SMTP server failed: " + e.getClass().getSimpleName());
    }

    private static DeliveryFailure classify(Throwable t, Duration timeout) {
        return switch (t) {
            case SMTPAddressFailedException a -> byCode(a.getReturnCode(), "the SMTP server rejected the recipient");
            case SMTPSenderFailedException s -> byCode(s.getReturnCode(), "the SMTP server rejected the sender");
            case SMTPSendFailedException s -> byCode(s.getReturnCode(), "the SMTP server refused the message");
            case AuthenticationFailedException a -> DeliveryFailure.retry("the SMTP server refused the login");
            case MailConnectException c -> DeliveryFailure.retry("cannot connect to the SMTP server");
            case ConnectException c -> DeliveryFailure.retry("cannot connect to the SMTP server");
            case SocketTimeoutException s ->
                DeliveryFailure.retry("no answer from the SMTP server within " + timeout.toMillis() + " ms");
            case UnknownHostException u -> DeliveryFailure.retry("cannot resolve the SMTP server's host");
            case SSLException s -> DeliveryFailure.retry("TLS with the SMTP server failed");
            default -> null;
        };
    }

    private static DeliveryFailure byCode(int code, String what) {
        String message = what + " (" + code + ")";
        return code >= 500 && code < 600 ? DeliveryFailure.permanent(message) : DeliveryFailure.retry(message);
    }
}
