// Starts AWS's DynamoDB Local the way its own main does, with two differences local mode needs:
// it listens on 127.0.0.1 only (DynamoDB Local has no option for that and binds every interface),
// and it exits when its standard input closes, so it dies with the process that started it even when
// that process is killed with SIGKILL. Run with the JRE's single-file source launcher (no javac):
//   java -Djava.library.path=LIB -cp "DynamoDBLocal.jar:LIB/*" LoopbackDynamoDBLocal.java <DynamoDB Local options>
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class LoopbackDynamoDBLocal {
    public static void main(String[] args) throws Exception {
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        int bound = 0;
        for (Field field : DynamoDBProxyServer.class.getDeclaredFields()) {
            if (Server.class.isAssignableFrom(field.getType())) {
                field.setAccessible(true);
                for (Connector connector : ((Server) field.get(proxy)).getConnectors()) {
                    ((ServerConnector) connector).setHost("127.0.0.1");
                    bound++;
                }
            }
        }
        if (bound == 0) {
            System.err.println("LoopbackDynamoDBLocal: no Jetty connector found; refusing to listen on every interface");
            System.exit(2);
        }
        Thread watchdog = new Thread(() -> {
            try {
                while (System.in.read() != -1) {
                    // the parent never writes: wait for end of file (its death closes the pipe)
                }
            } catch (java.io.IOException ignored) {
                // a broken pipe means the same thing
            }
            System.exit(0);
        }, "parent-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
        proxy.start();
        proxy.join();
    }
}
