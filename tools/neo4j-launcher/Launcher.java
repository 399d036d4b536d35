// Launcher starts an embedded Neo4j 5.26 Community DBMS with a Bolt connector on
// 127.0.0.1 for integration tests, CI and demos. It is run as a single-file source
// program (JEP 330), without a javac step, by scripts/neo4j:
//
//   java -Xmx1g --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
//        --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED \
//        --enable-native-access=ALL-UNNAMED \
//        -cp 'tools/neo4j-launcher/target/lib-5.26.30/*' tools/neo4j-launcher/Launcher.java HOME PORT [PAGECACHE_MIB] [detached]
//
// Arguments:
//   HOME          DBMS home directory (data/ and logs/ are created beneath it)
//   PORT          Bolt port on 127.0.0.1
//   PAGECACHE_MIB page cache size in MiB (default 128)
//   detached      block until killed instead of until stdin reaches EOF; the same as
//                 the environment variable NEO4J_LAUNCHER_DETACHED=1
//
// Once the default database is available it prints exactly one line,
// "NEO4J_READY bolt://127.0.0.1:<port>", to stdout. Attached (the default) it then
// runs until stdin reaches EOF, so a parent that holds the stdin pipe owns its
// lifetime. Detached it runs until SIGTERM/SIGINT. Either way the shutdown hook
// stops the DBMS cleanly. Any failure prints a stack trace and exits non-zero.
//
// Environment (optional; scripts/neo4j checks and passes them):
//   NEO4J_AUTH            "none" (default) or USER/PASSWORD: native auth on, and USER
//                         ("neo4j", or a user it creates) has PASSWORD, no change required
//   NEO4J_TX_MEMORY_MAX   db.memory.transaction.max, e.g. 8m: a transaction that needs more
//                         fails with a memory error (for tests of oversized batches)

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.graphdb.config.Setting;
import org.neo4j.io.ByteUnit;
import org.neo4j.kernel.internal.Version;

public class Launcher {
    private static final String HOST = "127.0.0.1";
    private static final long DEFAULT_PAGECACHE_MIB = 128;
    private static final long AVAILABLE_TIMEOUT_MILLIS = 120_000;

    /**
     * Shortens the wait for Bolt's Netty event loops on shutdown (5 s by default). The
     * databases are stopped and checkpointed before the Bolt server, so this only makes
     * "stop" return sooner. The setting is internal, hence looked up reflectively: if a
     * future version drops it, the launcher still starts.
     */
    @SuppressWarnings("unchecked")
    private static void fastBoltShutdown(DatabaseManagementServiceBuilder builder) {
        try {
            Object setting = Class.forName("org.neo4j.configuration.connectors.BoltConnectorInternalSettings")
                    .getField("thread_pool_shutdown_wait_time").get(null);
            builder.setConfig((Setting<Duration>) setting, Duration.ofSeconds(1));
        } catch (ReflectiveOperationException | ClassCastException e) {
            System.err.println("note: cannot shorten the Bolt shutdown wait: " + e);
        }
    }

    /**
     * Gives USER the password through the system database, as an administrator would
     * with ALTER USER (the embedded API runs with full rights). The built-in "neo4j" user
     * is altered; another user is created (or replaced). Setting the password it already
     * has (a restart on the same data) is not an error.
     */
    private static void setPassword(DatabaseManagementService dbms, String user, String password) {
        GraphDatabaseService system = dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
        String stmt = user.equals("neo4j")
                ? "ALTER USER neo4j SET PASSWORD $pw CHANGE NOT REQUIRED"
                : "CREATE OR REPLACE USER `" + user.replace("`", "``") + "` SET PASSWORD $pw CHANGE NOT REQUIRED";
        try {
            system.executeTransactionally(stmt, Map.of("pw", password));
        } catch (RuntimeException e) {
            String msg = String.valueOf(e.getMessage());
            if (!msg.contains("cannot be the same")) {
                throw e;
            }
        }
    }

    public static void main(String[] args) {
        if (args.length < 2 || args.length > 4) {
            System.err.println("usage: Launcher HOME PORT [PAGECACHE_MIB] [detached]");
            System.exit(64);
        }
        try {
            Path home = Path.of(args[0]).toAbsolutePath().normalize();
            int port = Integer.parseInt(args[1]);
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("bolt port out of range: " + port);
            }
            long pageCacheMiB = args.length >= 3 && !args[2].isEmpty() ? Long.parseLong(args[2]) : DEFAULT_PAGECACHE_MIB;
            if (pageCacheMiB < 8) {
                throw new IllegalArgumentException("page cache must be at least 8 MiB: " + pageCacheMiB);
            }
            boolean detached = (args.length >= 4 && args[3].equals("detached"))
                    || "1".equals(System.getenv("NEO4J_LAUNCHER_DETACHED"));
            if (args.length >= 4 && !args[3].equals("detached") && !args[3].equals("attached")) {
                throw new IllegalArgumentException("4th argument must be 'detached' or 'attached': " + args[3]);
            }

            Files.createDirectories(home);
            SocketAddress bolt = new SocketAddress(HOST, port);
            System.out.printf("NEO4J_STARTING pid=%d version=%s home=%s bolt=%s:%d pagecache=%dMiB heap=%dMiB mode=%s%n",
                    ProcessHandle.current().pid(), Version.getNeo4jVersion(), home, HOST, port, pageCacheMiB,
                    Runtime.getRuntime().maxMemory() / (1024 * 1024), detached ? "detached" : "attached");
            System.out.flush();

            DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(home)
                    .setConfig(BoltConnector.enabled, true)
                    .setConfig(BoltConnector.listen_address, bolt)
                    .setConfig(BoltConnector.advertised_address, bolt)
                    .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                    .setConfig(HttpConnector.enabled, false)
                    .setConfig(HttpsConnector.enabled, false)
                    .setConfig(GraphDatabaseSettings.default_listen_address, new SocketAddress(HOST))
                    .setConfig(GraphDatabaseSettings.auth_enabled, false)
                    .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(pageCacheMiB))
                    .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                    .setConfig(GraphDatabaseSettings.keep_logical_logs, "false")
                    .setConfig(GraphDatabaseSettings.logical_log_rotation_threshold, ByteUnit.mebiBytes(4))
                    .setConfig(GraphDatabaseSettings.udc_enabled, false);
            fastBoltShutdown(builder);
            String auth = System.getenv().getOrDefault("NEO4J_AUTH", "none");
            String authUser = null, authPassword = null;
            if (!auth.isEmpty() && !auth.equals("none")) {
                int slash = auth.indexOf('/');
                if (slash <= 0 || slash == auth.length() - 1) {
                    throw new IllegalArgumentException("NEO4J_AUTH must be none or USER/PASSWORD");
                }
                authUser = auth.substring(0, slash);
                authPassword = auth.substring(slash + 1);
                builder.setConfig(GraphDatabaseSettings.auth_enabled, true);
            }
            String txMax = System.getenv().getOrDefault("NEO4J_TX_MEMORY_MAX", "");
            if (!txMax.isEmpty()) {
                builder.setConfig(GraphDatabaseSettings.memory_transaction_max_size, ByteUnit.parse(txMax));
            }
            DatabaseManagementService dbms = builder.build();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                System.out.println("NEO4J_STOPPING");
                System.out.flush();
                try {
                    dbms.shutdown();
                    System.out.println("NEO4J_STOPPED");
                } catch (Throwable t) {
                    t.printStackTrace();
                }
                System.out.flush();
            }, "neo4j-launcher-shutdown"));

            GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
            if (!db.isAvailable(AVAILABLE_TIMEOUT_MILLIS)) {
                System.err.printf("database %s not available after %d ms; see %s%n",
                        GraphDatabaseSettings.DEFAULT_DATABASE_NAME, AVAILABLE_TIMEOUT_MILLIS,
                        home.resolve("logs").resolve("debug.log"));
                System.exit(2);
            }

            if (authUser != null) {
                setPassword(dbms, authUser, authPassword);
            }
            System.out.printf("NEO4J_SETTINGS auth=%s tx_memory_max=%s%n", authUser != null ? authUser : "none",
                    txMax.isEmpty() ? "default" : txMax);
            System.out.println("NEO4J_READY bolt://" + HOST + ":" + port);
            System.out.flush();

            if (detached) {
                // stdin is /dev/null when started in the background: wait for SIGTERM instead.
                new CountDownLatch(1).await();
            } else {
                InputStream in = System.in;
                byte[] buf = new byte[256];
                while (in.read(buf) >= 0) {
                    // discard input; only EOF matters
                }
            }
            System.exit(0);
        } catch (Throwable t) {
            System.err.println("neo4j launcher failed:");
            t.printStackTrace();
            System.err.flush();
            System.exit(1);
        }
    }
}
