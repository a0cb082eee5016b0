package io.countersign.server.channels;

import static io.countersign.server.channels.WebhookChannelTest.awaitTrue;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.icegreen.greenmail.configuration.GreenMailConfiguration;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import io.countersign.server.ServerFixture;
import io.countersign.server.config.Channels;
import io.countersign.server.config.ServerConfig;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Approval emails through a real SMTP server (GreenMail) started in the test, and a scripted one. */
class EmailChannelTest {
    static final String FROM = "countersign@example.com";
    static final Map<String, ServerConfig.Links> ADDRESSES = Map.of(
            "alice", links("alice@example.com"),
            "bob", links("bob@example.com"),
            "carol", links("carol@example.com"),
            "dave", links("dave@example.com"));

    @TempDir
    Path dir;

    final Mailbox mailbox = new Mailbox();
    ServerFixture fx;

    @AfterEach
    void stop() {
        if (fx != null) fx.close();
        mailbox.close();
    }

    static ServerConfig.Links links(String email) {
        return new ServerConfig.Links(null, email, null, null);
    }

    static Channels.Email smtp(int port) {
        return new Channels.Email("127.0.0.1", port, Channels.Email.Tls.NONE, null, null, FROM);
    }

    static ServerFixture start(Path dir, Path policy, Channels.Email email) {
        Channels channels = Channels.none()
                .withEmail(email)
                .withDelivery(
                        new Channels.Delivery(6, Duration.ofSeconds(2), Duration.ofSeconds(8), Duration.ofSeconds(5)));
        return new ServerFixture(dir, policy, ADDRESSES, c -> c.withChannels(channels));
    }

    ServerFixture start(Channels.Email email) {
        return start(dir, Path.of("..", "examples", "policy.yaml"), email);
    }

    @Test
    void emailsEachEligibleApproverTheRequestsFactsAndTheirOwnLinkButNeverTheAgentsOwner() throws Exception {
        mailbox.start();
        fx = start(smtp(mailbox.port));
        String id = fx.submitted(ServerFixture.PII_EXPORT);

        MimeMessage bob = mailbox.awaitOne("bob@example.com");
        MimeMessage carol = mailbox.awaitOne("carol@example.com");
        awaitTrue(() -> deliveryStates(fx, id).equals(List.of("delivered", "delivered")));
        assertThat(mailbox.to("alice@example.com")).as("alice owns deploy-bot").isEmpty();
        assertThat(mailbox.to("dave@example.com"))
                .as("dave is not a data owner")
                .isEmpty();

        assertThat(bob.getSubject()).isEqualTo("Approval needed: db.export on customers (prod)");
        assertThat(bob.getFrom()[0].toString()).isEqualTo(FROM);
        assertThat(bob.getHeader("Auto-Submitted")).containsExactly("auto-generated");
        String digest =
                fx.get("alice", "/v1/requests/" + id).json().path("digest").asText();
        for (String part : List.of(text(bob), html(bob))) {
            assertThat(part)
                    .contains("Hello bob")
                    .contains("deploy-bot (agent, owned by alice)")
                    .contains("db.export")
                    .contains("table customers in prod")
                    .contains("pii")
                    .contains("churn analysis")
                    .contains("pii-export-in-prod")
                    .contains("2 of data-owners; approvals need a reason")
                    .contains("no one yet")
                    .contains(digest.substring(0, 16))
                    .doesNotContain(digest)
                    .contains("2025-03-03T09:30:00Z")
                    .contains(link(bob));
        }
        assertThat(link(bob)).startsWith(fx.uri("/review/").toString()).isNotEqualTo(link(carol));
    }

    @Test
    void deliveriesAndTheLedgerNameTheApproversPrincipalNeverTheirAddress() throws Exception {
        mailbox.start();
        fx = start(smtp(mailbox.port));
        String id = fx.submitted(ServerFixture.PII_EXPORT);
        awaitTrue(() -> deliveryStates(fx, id).equals(List.of("delivered", "delivered")));

        JsonNode deliveries =
                fx.get("alice", "/v1/requests/" + id + "/deliveries").json();
        assertThat(deliveries.findValuesAsText("target")).containsExactlyInAnyOrder("bob", "carol");
        assertThat(deliveries.findValuesAsText("channel")).containsOnly("email");
        JsonNode notified = events(fx, id, "request.notified");
        assertThat(notified.findValuesAsText("recipient")).containsExactlyInAnyOrder("bob", "carol");
        assertThat(notified.findValuesAsText("channel")).containsOnly("email");
        assertThat(fx.get("alice", "/v1/ledger/entries").body() + deliveries).doesNotContain("@example.com");
    }

    @Test
    void approvesARequestFromTheLinksInTwoApproversEmails() throws Exception {
        mailbox.start();
        fx = start(smtp(mailbox.port));
        String id = fx.submitted(ServerFixture.PII_EXPORT);
        String bob = link(mailbox.awaitOne("bob@example.com"));
        String carol = link(mailbox.awaitOne("carol@example.com"));

        ServerFixture.Reply page = fx.send(HttpRequest.newBuilder(java.net.URI.create(bob)));
        assertThat(page.status()).isEqualTo(200);
        assertThat(page.body()).contains("You are reviewing as <strong>bob</strong>", ">Approve<", ">Deny<");
        assertThat(fx.get("alice", "/v1/requests/" + id).state()).isEqualTo("pending");

        ServerFixture.Reply first = ReviewPageTest.post(fx, bob, "verdict=approve&reason=fine+for+churn");
        assertThat(first.status()).isEqualTo(200);
        assertThat(first.body()).contains("Your approval is recorded");
        assertThat(fx.get("alice", "/v1/requests/" + id).state()).isEqualTo("pending");
        ServerFixture.Reply second = ReviewPageTest.post(fx, carol, "verdict=approve&reason=agreed");
        assertThat(second.body()).contains("Approved.");

        assertThat(fx.get("alice", "/v1/requests/" + id).state()).isEqualTo("approved");
        JsonNode reviews = events(fx, id, "review.recorded");
        assertThat(reviews.findValuesAsText("actor")).containsExactly("bob", "carol");
        assertThat(reviews.findValuesAsText("channel")).containsOnly("email");
        assertThat(reviews.findValuesAsText("reason")).containsExactly("fine for churn", "agreed");
        assertThat(events(fx, id, "request.approved")).hasSize(1);
    }

    @Test
    void withAPickupDirectoryEachMessageIsAnOwnerOnlyEmlFileWhoseLinkReviews() throws Exception {
        Path pickup = dir.resolve("mail");
        fx = start(new Channels.Email(null, 25, Channels.Email.Tls.NONE, null, null, FROM, pickup));
        String id = fx.submitted(ServerFixture.PII_EXPORT);
        awaitTrue(() -> deliveryStates(fx, id).equals(List.of("delivered", "delivered")));

        List<Path> files;
        try (var list = java.nio.file.Files.list(pickup)) {
            files = list.sorted().toList();
        }
        assertThat(files).hasSize(2).allSatisfy(f -> {
            assertThat(f.getFileName().toString()).endsWith(".eml");
            try {
                assertThat(java.nio.file.Files.getPosixFilePermissions(f))
                        .containsExactlyInAnyOrder(
                                java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                                java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
            } catch (java.io.IOException e) {
                throw new AssertionError(e);
            }
        });
        Map<String, MimeMessage> byRecipient = new java.util.HashMap<>();
        for (Path f : files) {
            try (var in = java.nio.file.Files.newInputStream(f)) {
                MimeMessage m = new MimeMessage(jakarta.mail.Session.getInstance(new java.util.Properties()), in);
                byRecipient.put(m.getAllRecipients()[0].toString(), m);
            }
        }
        assertThat(byRecipient).containsOnlyKeys("bob@example.com", "carol@example.com");
        String bobLink = link(byRecipient.get("bob@example.com"));
        assertThat(files)
                .as("the link is a whole line that grep finds, not quoted-printable pieces")
                .anySatisfy(f -> assertThat(java.nio.file.Files.readString(f)).contains(bobLink));
        ServerFixture.Reply done =
                ReviewPageTest.post(fx, link(byRecipient.get("bob@example.com")), "verdict=deny&reason=not+now");
        assertThat(done.status()).isEqualTo(200);
        assertThat(fx.get("alice", "/v1/requests/" + id).state()).isEqualTo("denied");
    }

    @Test
    void aRequestRoutedToAnotherChannelSendsNoEmail() throws Exception {
        Path policy = dir.resolve("policy.yaml");
        String example = Files.readString(Path.of("..", "examples", "policy.yaml"));
        Files.writeString(
                policy,
                example.replace("    reason_required: true\n", "    reason_required: true\n    notify: [slack]\n"));
        mailbox.start();
        fx = start(dir.resolve("data"), policy, smtp(mailbox.port));
        String routedElsewhere = fx.submitted(ServerFixture.PII_EXPORT);
        String shell = fx.submitted(ServerFixture.PROD_SHELL); // no notify: every channel

        mailbox.awaitOne("dave@example.com");
        awaitTrue(() -> deliveryStates(fx, shell).equals(List.of("delivered", "delivered")));
        assertThat(deliveryStates(fx, routedElsewhere)).isEmpty();
        assertThat(mailbox.to("bob@example.com")).isEmpty();
        assertThat(mailbox.to("carol@example.com")).hasSize(1); // carol is in security too
    }

    @Test
    void anSmtpOutageIsRetriedAndShownInMetricsWhileReviewsGoOnAndMailFollowsWhenItIsBack() throws Exception {
        fx = start(smtp(mailbox.port)); // nothing listens there yet
        String reviewedMeanwhile = fx.submitted(ServerFixture.PII_EXPORT);
        String other = fx.submitted(ServerFixture.PII_EXPORT.replace("churn", "retention"));
        awaitTrue(() -> failedAtLeastOnce(reviewedMeanwhile) && failedAtLeastOnce(other));
        JsonNode failing = fx.get("alice", "/v1/requests/" + other + "/deliveries")
                .json()
                .path("deliveries")
                .path(0);
        assertThat(failing.path("state").asText()).isEqualTo("pending");
        assertThat(failing.path("last_error").asText()).isEqualTo("cannot connect to the SMTP server");
        assertThat(metrics())
                .containsPattern("countersign_delivery_failures_total\\{channel=\"email\",gave_up=\"false\","
                        + "kind=\"approval\"} [1-9]");

        // the outage holds up nothing else: the API reviews at once
        assertThat(fx.review("bob", reviewedMeanwhile, "approve", "ok").status())
                .isEqualTo(200);

        mailbox.start();
        fx.clock.advance(Duration.ofMinutes(1)); // past the backoff
        awaitTrue(() -> mailbox.to("carol@example.com").size() == 2);
        awaitTrue(() -> deliveryStates(fx, reviewedMeanwhile).equals(List.of("delivered", "delivered"))
                && deliveryStates(fx, other).equals(List.of("delivered", "delivered")));
        assertThat(mailbox.to("bob@example.com"))
                .as("bob reviewed one of them already")
                .hasSize(1);
        assertThat(text(mailbox.to("bob@example.com").getFirst())).contains("retention");
        assertThat(text(mailbox.to("carol@example.com").getFirst())
                        + text(mailbox.to("carol@example.com").get(1)))
                .contains("bob (api)");
    }

    @Test
    void aMessageDueAfterTheRequestWasDecidedIsNotSent() throws Exception {
        fx = start(smtp(mailbox.port)); // down while the request is decided
        String id = fx.submitted(ServerFixture.PII_EXPORT);
        awaitTrue(() -> failedAtLeastOnce(id));
        fx.review("bob", id, "approve", "ok");
        fx.review("carol", id, "approve", "ok");

        mailbox.start();
        fx.clock.advance(Duration.ofMinutes(1));
        awaitTrue(() -> deliveryStates(fx, id).equals(List.of("delivered", "delivered")));
        assertThat(mailbox.all()).isEmpty();
        assertThat(events(fx, id, "request.notified")).isEmpty();
    }

    @Test
    void logsInWithTheConfiguredCredentials() throws Exception {
        mailbox.start(GreenMailConfiguration.aConfig().withUser(FROM, "countersign", "Corr3ct-Horse"));
        fx = start(new Channels.Email(
                "127.0.0.1",
                mailbox.port,
                Channels.Email.Tls.NONE,
                "countersign",
                new Channels.Secret("Corr3ct-Horse"),
                FROM));
        fx.submitted(ServerFixture.PII_EXPORT);
        assertThat(link(mailbox.awaitOne("bob@example.com"))).contains("/review/");
    }

    @Test
    void theSmtpPasswordAppearsInNoDeliveryLedgerEntryMetricOrApiResponse() throws Exception {
        String password = "Wr0ng-" + UUID.randomUUID();
        mailbox.start(GreenMailConfiguration.aConfig().withUser(FROM, "countersign", "Corr3ct-Horse"));
        fx = start(new Channels.Email(
                "127.0.0.1",
                mailbox.port,
                Channels.Email.Tls.NONE,
                "countersign",
                new Channels.Secret(password),
                FROM));
        String id = fx.submitted(ServerFixture.PII_EXPORT);
        awaitTrue(() -> failedAtLeastOnce(id));

        JsonNode deliveries = fx.get("alice", "/v1/deliveries").json();
        assertThat(deliveries.findValuesAsText("last_error")).contains("the SMTP server refused the login");
        String everything = deliveries
                + fx.get("alice", "/v1/ledger/entries").body()
                + fx.get("alice", "/v1/requests/" + id + "/events").body()
                + fx.get("alice", "/v1/requests/" + id).body()
                + metrics();
        assertThat(everything).doesNotContain(password).doesNotContain("Corr3ct-Horse");
        assertThat(fx.server().config().toString()).doesNotContain(password);
        assertThat(mailbox.all()).isEmpty();
    }

    @Test
    void aRecipientTheServerRejectsIsGivenUpAtOnceNamingNoAddress() throws Exception {
        try (ScriptedSmtp server = new ScriptedSmtp("550 5.1.1 mailbox bob@example.com unknown")) {
            fx = start(smtp(server.port()));
            String id = fx.submitted(ServerFixture.PII_EXPORT);
            awaitTrue(() -> deliveryStates(fx, id).equals(List.of("dead", "dead")));
            JsonNode d = fx.get("alice", "/v1/requests/" + id + "/deliveries").json();
            assertThat(d.findValuesAsText("last_error")).containsOnly("the SMTP server rejected the recipient (550)");
            assertThat(d.findValues("attempts").stream().map(JsonNode::asInt)).containsOnly(1);
            assertThat(metrics())
                    .contains("countersign_delivery_failures_total{channel=\"email\",gave_up=\"true\","
                            + "kind=\"approval\"} 2.0");
        }
    }

    @Test
    void aTemporaryRefusalIsRetried() throws Exception {
        try (ScriptedSmtp server = new ScriptedSmtp("451 4.3.0 try again later")) {
            fx = start(smtp(server.port()));
            String id = fx.submitted(ServerFixture.PII_EXPORT);
            awaitTrue(() -> failedAtLeastOnce(id));
            JsonNode d = fx.get("alice", "/v1/requests/" + id + "/deliveries").json();
            assertThat(d.findValuesAsText("state")).containsOnly("pending");
            assertThat(d.findValuesAsText("last_error")).contains("the SMTP server rejected the recipient (451)");
        }
    }

    @Test
    void agentTextCannotAddMailHeadersAndIsEscapedInTheHtmlPart() throws Exception {
        mailbox.start();
        fx = start(smtp(mailbox.port));
        String hostile = ServerFixture.PII_EXPORT
                .replace(
                        "\"id\": \"customers\"",
                        "\"id\": \"customers\\r\\nBcc: mallory@example.com\\r\\nX-Injected: yes\\u2028Reply-To: m@example.com\"")
                .replace(
                        "churn analysis",
                        "<script>alert(1)</script>\\r\\nBcc: mallory@example.com\\r\\n\\r\\n<a href='https://evil.example'>x</a>");
        fx.submitted(hostile);

        MimeMessage bob = mailbox.awaitOne("bob@example.com");
        mailbox.awaitOne("carol@example.com");
        assertThat(bob.getHeader("X-Injected")).isNull();
        assertThat(bob.getHeader("Bcc")).isNull();
        assertThat(bob.getHeader("Reply-To")).isNull();
        assertThat(bob.getSubject())
                .doesNotContain("\r", "\n", "\u2028")
                .startsWith("Approval needed: db.export on customers Bcc: mallory@example.com X-Injected: yes");
        assertThat(bob.getAllRecipients()).extracting(Object::toString).containsExactly("bob@example.com");
        assertThat(mailbox.to("mallory@example.com")).isEmpty();
        assertThat(html(bob))
                .contains("&lt;script&gt;alert(1)&lt;/script&gt;")
                .contains("&lt;a href=&#39;hxxps://evil[.]example&#39;&gt;")
                .doesNotContain("<script>")
                .doesNotContain("href='https://evil.example'");
        assertThat(mailbox.all()).hasSize(2);
    }

    @Test
    void urlsTheAgentWroteAreNotLinksInEitherPartButTheReviewLinkIs() throws Exception {
        mailbox.start();
        fx = start(smtp(mailbox.port));
        fx.submitted(ServerFixture.PII_EXPORT
                .replace("\"id\": \"customers\"", "\"id\": \"https://evil.example/c\"")
                .replace(
                        "churn analysis",
                        "approve at https://login.evil.example/ok?x=1 or HTTP://evil.example, see www.evil.example"
                                + " and ftp://files.evil.example"));

        MimeMessage bob = mailbox.awaitOne("bob@example.com");
        for (String part : List.of(text(bob), html(bob))) {
            assertThat(part)
                    .contains("hxxps://login[.]evil[.]example/ok?x=1")
                    .contains("HxxP://evil[.]example")
                    .contains("www[.]evil[.]example")
                    .contains("ftp[:]//files[.]evil[.]example")
                    .contains("table hxxps://evil[.]example/c in prod")
                    .doesNotContain("evil.example")
                    .contains(link(bob));
        }
        assertThat(bob.getSubject()).contains("hxxps://evil[.]example/c").doesNotContain("evil.example");
        assertThat(link(bob)).startsWith(fx.uri("/review/").toString());
        assertThat(html(bob)).contains("<a href=\"" + link(bob) + "\"");
    }

    @Test
    void theSubjectStaysShortWhateverTheResourceId() throws Exception {
        mailbox.start();
        fx = start(smtp(mailbox.port));
        fx.submitted(ServerFixture.PII_EXPORT.replace("\"id\": \"customers\"", "\"id\": \"" + "x".repeat(1000) + "\""));
        assertThat(mailbox.awaitOne("bob@example.com").getSubject())
                .hasSizeLessThanOrEqualTo(EmailMessage.MAX_SUBJECT)
                .contains("…");
    }

    private boolean failedAtLeastOnce(String id) {
        JsonNode list =
                fx.get("alice", "/v1/requests/" + id + "/deliveries").json().path("deliveries");
        return list.size() == 2
                && StreamSupport.stream(list.spliterator(), false)
                        .allMatch(d -> d.has("last_error") && d.path("attempts").asInt() >= 1);
    }

    private String metrics() {
        return fx.send(HttpRequest.newBuilder(fx.uri("/metrics"))).body();
    }

    static List<String> deliveryStates(ServerFixture fx, String id) {
        return fx.get("alice", "/v1/requests/" + id + "/deliveries").json().findValuesAsText("state");
    }

    static JsonNode events(ServerFixture fx, String id, String type) {
        var out = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.arrayNode();
        for (JsonNode e :
                fx.get("alice", "/v1/requests/" + id + "/events").json().path("events"))
            if (e.path("type").asText().equals(type)) out.add(e);
        return out;
    }

    static String link(MimeMessage m) throws Exception {
        Matcher found = Pattern.compile("http://\\S+/review/[A-Za-z0-9_.-]+").matcher(text(m));
        if (!found.find()) throw new AssertionError("no review link in " + text(m));
        return found.group();
    }

    static String text(MimeMessage m) throws Exception {
        return part(m, "text/plain");
    }

    static String html(MimeMessage m) throws Exception {
        return part(m, "text/html");
    }

    private static String part(MimeMessage m, String type) throws Exception {
        MimeMultipart parts = (MimeMultipart) m.getContent();
        for (int i = 0; i < parts.getCount(); i++)
            if (parts.getBodyPart(i).isMimeType(type))
                return (String) parts.getBodyPart(i).getContent();
        throw new AssertionError("no " + type + " part");
    }

    /** A real SMTP server (GreenMail) on a port chosen up front, so that it can start after the server does. */
    static final class Mailbox implements AutoCloseable {
        final int port = freePort();
        private GreenMail smtp;

        void start() {
            start(GreenMailConfiguration.aConfig());
        }

        void start(GreenMailConfiguration config) {
            smtp = new GreenMail(new ServerSetup(port, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
            smtp.withConfiguration(config);
            smtp.start();
        }

        List<MimeMessage> all() {
            return smtp == null ? List.of() : Arrays.asList(smtp.getReceivedMessages());
        }

        /** The messages delivered to {@code address}, oldest first. */
        List<MimeMessage> to(String address) {
            return all().stream().filter(m -> addressedTo(m, address)).toList();
        }

        MimeMessage awaitOne(String address) throws InterruptedException {
            awaitTrue(() -> !to(address).isEmpty());
            return to(address).getFirst();
        }

        private static boolean addressedTo(MimeMessage m, String address) {
            try {
                var to = m.getRecipients(Message.RecipientType.TO);
                return to != null
                        && Arrays.stream(to).anyMatch(a -> a.toString().equalsIgnoreCase(address));
            } catch (MessagingException e) {
                throw new IllegalStateException(e);
            }
        }

        private static int freePort() {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void close() {
            if (smtp != null) smtp.stop();
        }
    }

    /** An SMTP peer that answers every RCPT TO with one scripted reply. */
    static final class ScriptedSmtp implements AutoCloseable {
        private final ServerSocket socket;
        private final String rcptReply;

        ScriptedSmtp(String rcptReply) throws IOException {
            this.socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            this.rcptReply = rcptReply;
            Thread.ofVirtual().start(this::serve);
        }

        int port() {
            return socket.getLocalPort();
        }

        private void serve() {
            while (!socket.isClosed()) {
                try (Socket s = socket.accept()) {
                    s.setSoTimeout(5_000);
                    converse(s);
                } catch (IOException e) {
                    // closed, or the client went away: take the next one
                }
            }
        }

        private void converse(Socket s) throws IOException {
            var in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream out = s.getOutputStream();
            reply(out, "220 scripted ESMTP");
            for (String line; (line = in.readLine()) != null; ) {
                String verb = line.length() < 4 ? line : line.substring(0, 4).toUpperCase(java.util.Locale.ROOT);
                switch (verb) {
                    case "EHLO", "HELO" -> reply(out, "250 scripted");
                    case "MAIL", "RSET", "NOOP" -> reply(out, "250 2.0.0 ok");
                    case "RCPT" -> reply(out, rcptReply);
                    case "QUIT" -> {
                        reply(out, "221 2.0.0 bye");
                        return;
                    }
                    default -> reply(out, "502 5.5.1 not implemented");
                }
            }
        }

        private static void reply(OutputStream out, String line) throws IOException {
            out.write((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
