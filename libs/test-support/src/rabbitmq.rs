//! A RabbitMQ node of one test's own, which the test may stop and start again.
//!
//! The test stack's broker is shared by every test running at the same time, so no test may restart
//! it. A test of what happens when the broker goes away starts its own node instead: the Debian
//! package's `rabbitmq-server`, with its own node name, AMQP and Erlang-distribution ports, and data,
//! logs and `HOME` (hence Erlang cookie) in a temporary folder, set up as `scripts/lib/rabbitmq.sh`
//! sets up the stacks' nodes. It registers with the epmd the test stack already runs. Stopping and
//! starting again reuses the node name, port and data, so durable exchanges and queues survive, as
//! they would a real restart. Dropping the broker kills its process group and removes the folder.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use tokio::process::{Child, Command};

const BIN: &str = "/usr/lib/rabbitmq/bin";
/// How long a boot may take on a busy 2-core machine.
const BOOT_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a clean stop may take before the node is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

pub struct PrivateBroker {
    node: String,
    amqp_port: u16,
    dist_port: u16,
    dir: PathBuf,
    server: Option<Child>,
}

/// Where the node's ports come from: below the kernel's ephemeral range (32768 and up here), which
/// hands its ports to every `connect`. A port asked of the kernel (`bind` to port 0) came from that
/// range, and an outgoing connection could take it in the seconds before the node bound it: the node
/// then refused to boot with `dist_port_already_used`. The band holds none of the stacks' ports
/// (`scripts/lib/common.sh`), nor the benchmarks' (29xxx), nor the 35672–35682 of rabbitmqctl's
/// own distribution.
const PORT_BAND: std::ops::Range<u16> = 30_000..32_768;

/// A port of [`PORT_BAND`] that nothing listens on now, other than `except`.
fn free_port(except: Option<u16>) -> u16 {
    let width = u128::from(PORT_BAND.end - PORT_BAND.start);
    for _ in 0..1_000 {
        let port = PORT_BAND.start + (uuid::Uuid::new_v4().as_u128() % width) as u16;
        if Some(port) != except && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {PORT_BAND:?} for a private RabbitMQ")
}

impl PrivateBroker {
    /// Writes the node's configuration into a fresh folder and boots it; panics if it does not boot.
    pub async fn launch() -> Self {
        let epmd = std::process::Command::new("epmd")
            .arg("-names")
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .output();
        assert!(
            epmd.is_ok_and(|o| o.status.success()),
            "no epmd answers on 127.0.0.1:4369: start the test stack (./dev infra up it)"
        );
        let name = crate::unique_name();
        let dir = std::env::temp_dir().join(format!("livestreamer-rabbitmq-{name}"));
        let amqp_port = free_port(None);
        let mut broker = Self {
            node: format!("ls-{name}@localhost"),
            amqp_port,
            dist_port: free_port(Some(amqp_port)),
            dir,
            server: None,
        };
        broker.write_config();
        broker.start().await;
        broker
    }

    /// The AMQP URL of this node (user guest, from loopback).
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.amqp_port)
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.amqp_port))
    }

    /// Boots the node (again) on its port and data; returns once it accepts connections.
    pub async fn start(&mut self) {
        assert!(self.server.is_none(), "the broker already runs");
        let log = std::fs::File::create(self.dir.join("server.log")).expect("the server's log");
        let server = self
            .command(&format!("{BIN}/rabbitmq-server"))
            .stdout(log.try_clone().expect("the log, twice"))
            .stderr(log)
            // Its own process group, so that Drop can kill the Erlang VM behind the script too.
            .process_group(0)
            .kill_on_drop(false)
            .spawn()
            .expect("start rabbitmq-server (apt-get install rabbitmq-server)");
        self.server = Some(server);
        self.wait_until_booted().await;
    }

    /// Asks the node to report its boot until it does: `await_startup` fails at once while the node
    /// has not registered with epmd yet.
    async fn wait_until_booted(&mut self) {
        let deadline = tokio::time::Instant::now() + BOOT_TIMEOUT;
        while tokio::time::Instant::now() < deadline {
            let server = self.server.as_mut().expect("the broker was started");
            if let Ok(Some(status)) = server.try_wait() {
                panic!(
                    "the private RabbitMQ exited while booting ({status}):\n{}",
                    self.log()
                );
            }
            let booted = self
                .ctl(&["await_startup", "--timeout", "10"])
                .status()
                .await;
            if booted.is_ok_and(|s| s.success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!(
            "the private RabbitMQ did not boot within {BOOT_TIMEOUT:?}:\n{}",
            self.log()
        );
    }

    /// The end of the server's output, for a failure message (the folder goes with the broker).
    fn log(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Stops the node cleanly (as SIGTERM from an orchestrator would) and waits until it is gone.
    pub async fn stop(&mut self) {
        let mut server = self.server.take().expect("the broker runs");
        let pid = server.id().expect("a running server");
        let signalled = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(signalled.success(), "SIGTERM to rabbitmq-server {pid}");
        if tokio::time::timeout(STOP_TIMEOUT, server.wait())
            .await
            .is_err()
        {
            kill_group(pid);
            panic!("the private RabbitMQ did not stop within {STOP_TIMEOUT:?}");
        }
        // The script may exit a moment before the VM: wait until the node left epmd.
        let short_name = self.node.split('@').next().unwrap_or_default().to_owned();
        for _ in 0..100 {
            let names = std::process::Command::new("epmd").arg("-names").output();
            let listed = names.is_ok_and(|o| {
                String::from_utf8_lossy(&o.stdout).contains(&format!("name {short_name} "))
            });
            if !listed {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the private RabbitMQ node {} stays registered", self.node);
    }

    /// `program` with this node's environment (the same for the server and rabbitmqctl).
    fn command(&self, program: &str) -> Command {
        let dir = &self.dir;
        let mut command = Command::new(program);
        command
            .env("HOME", dir.join("home"))
            .env("RABBITMQ_NODENAME", &self.node)
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", self.amqp_port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", dir.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", dir.join("log"))
            .env("RABBITMQ_CONFIG_FILE", dir.join("rabbitmq.conf"))
            .env("RABBITMQ_ADVANCED_CONFIG_FILE", dir.join("advanced.config"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir.join("enabled_plugins"))
            .env("RABBITMQ_CONF_ENV_FILE", dir.join("rabbitmq-env.conf"))
            .env(
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
                "-kernel inet_dist_use_interface {127,0,0,1} -start_epmd false",
            )
            .env("RABBITMQ_CTL_ERL_ARGS", "-start_epmd false")
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .stdin(Stdio::null());
        command
    }

    /// rabbitmqctl aimed at this node, quiet.
    fn ctl(&self, args: &[&str]) -> Command {
        let mut command = self.command(&format!("{BIN}/rabbitmqctl"));
        command
            .args(["-n", &self.node, "-q"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }

    fn write_config(&self) {
        let dir = &self.dir;
        for sub in ["home", "mnesia", "log"] {
            std::fs::create_dir_all(dir.join(sub)).expect("the broker's folders");
        }
        set_private(&dir.join("home"));
        let files = [
            ("enabled_plugins", "[].\n".to_owned()),
            ("advanced.config", "[].\n".to_owned()),
            ("rabbitmq-env.conf", String::new()),
            (
                "rabbitmq.conf",
                format!(
                    "listeners.tcp.default = 127.0.0.1:{}\nlisteners.ssl = none\n\
                     loopback_users.guest = true\ndisk_free_limit.absolute = 50MB\n\
                     log.console = true\nlog.console.level = warning\nlog.file = false\n",
                    self.amqp_port
                ),
            ),
        ];
        for (file, text) in files {
            std::fs::write(dir.join(file), text).expect("the broker's configuration");
        }
    }
}

/// The Erlang cookie's folder must be readable by its owner alone.
fn set_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
        .expect("chmod the broker's HOME");
}

/// SIGKILL to the process group led by `pid`: the script and the Erlang VM it started.
fn kill_group(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .status();
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        if let Some(server) = &self.server
            && let Some(pid) = server.id()
        {
            kill_group(pid);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::{
        BasicProperties, Connection, ConnectionProperties,
        options::{BasicGetOptions, BasicPublishOptions, QueueDeclareOptions},
        types::FieldTable,
    };

    async fn open_channel(broker: &PrivateBroker) -> (Connection, lapin::Channel) {
        let connection = Connection::connect(&broker.url(), ConnectionProperties::default())
            .await
            .expect("the private broker accepts connections");
        let channel = connection.create_channel().await.expect("a channel");
        (connection, channel)
    }

    #[tokio::test]
    async fn a_durable_queue_and_its_persistent_message_survive_a_restart() {
        let mut broker = PrivateBroker::launch().await;
        let (connection, channel) = open_channel(&broker).await;
        let durable = QueueDeclareOptions {
            durable: true,
            ..Default::default()
        };
        channel
            .queue_declare("kept".into(), durable, FieldTable::default())
            .await
            .unwrap();
        channel
            .basic_publish(
                "".into(),
                "kept".into(),
                BasicPublishOptions::default(),
                b"still here",
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .unwrap()
            .await
            .unwrap();

        broker.stop().await;
        assert!(
            tokio::net::TcpStream::connect(broker.addr()).await.is_err(),
            "a stopped broker refuses connections"
        );
        drop(connection);
        broker.start().await;

        let (_connection, channel) = open_channel(&broker).await;
        let message = channel
            .basic_get("kept".into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
            .expect("the message survived the restart");
        assert_eq!(message.delivery.data, b"still here");
    }
}
