//! Releases of a project that keeps data: the real PostgreSQL and Redis images (built by
//! scripts/prepare-images.sh from Debian's packages) on the real Swarm, with rows and keys written
//! through the programs inside the task containers, and read back after the database's service is
//! redeployed and after `berth destroy` (which keeps volumes unless told otherwise) and a new
//! apply.

use crate::harness::{docker, expect_code, stdout, text, World};
use std::time::{Duration, Instant};

/// A project with a PostgreSQL database and a Redis cache, each on its own volume; `round` is an
/// environment variable of the database, so changing it redeploys the database's service.
fn data_project(name: &str, secret_env: &str, round: u32) -> String {
    format!(
        r#"project {name} {{
  volume pg {{
    size = 1G
  }}

  volume cache {{
    size = 1G
  }}

  secret pg_password {{
    env = "{secret_env}"
  }}

  service db {{
    image         = "berth/postgres:15"
    endpoint_mode = "dnsrr"
    args          = ["-c", "shared_buffers=16MB"]

    env {{
      POSTGRES_DB            = "app"
      POSTGRES_PASSWORD_FILE = secret.pg_password
      RELEASE_ROUND          = "{round}"
    }}

    mount {{
      source = volume.pg
      target = "/var/lib/postgresql/data"
    }}

    resources {{
      limits {{
        cpu    = 0.5
        memory = 128M
      }}
    }}

    health {{
      command      = ["/usr/lib/postgresql/15/bin/pg_isready", "-q", "-h", "127.0.0.1"]
      interval     = 2s
      timeout      = 1s
      start_period = 20s
    }}
  }}

  service cache {{
    image         = "berth/redis:7"
    endpoint_mode = "dnsrr"

    mount {{
      source = volume.cache
      target = "/data"
    }}

    resources {{
      limits {{
        cpu    = 0.25
        memory = 64M
      }}
    }}

    health {{
      command  = ["/usr/bin/redis-cli", "-h", "127.0.0.1", "ping"]
      interval = 2s
      timeout  = 1s
    }}
  }}
}}
"#
    )
}

struct Data {
    world: World,
    name: String,
    secret_env: String,
}

impl Data {
    fn new(tag: &str) -> Data {
        let mut world = World::new();
        let name = world.project(tag);
        let secret_env = format!(
            "BERTH_{}_PG_PASSWORD",
            name.to_uppercase().replace('-', "_")
        );
        Data {
            world,
            name,
            secret_env,
        }
    }

    fn berth(&self, args: &[&str]) -> std::process::Output {
        let mut full: Vec<&str> = args.to_vec();
        full.push(self.world.dir_str());
        let password = format!("pw-{}", self.world.id);
        self.world
            .berth_env(&full, &[(self.secret_env.as_str(), password.as_str())])
    }

    fn apply(&self, round: u32) -> std::process::Output {
        self.world.write(
            "main.berth",
            &data_project(&self.name, &self.secret_env, round),
        );
        self.berth(&["apply", "--auto-approve", "--project", &self.name])
    }

    /// The id of the one running container of a service, waiting for it (at most 60 s).
    fn container(&self, service: &str) -> String {
        let label = format!(
            "label=com.docker.swarm.service.name={}_{service}",
            self.name
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = docker(&["ps", "-q", "--filter", &label, "--filter", "health=healthy"]);
            let ids: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
            if ids.len() == 1 {
                return ids[0].clone();
            }
            assert!(
                Instant::now() < deadline,
                "{service} has no single healthy container: {ids:?}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Runs SQL with psql inside the database's task container and returns what it printed.
    fn sql(&self, query: &str) -> String {
        let id = self.container("db");
        let out = docker(&[
            "exec",
            &id,
            "psql",
            "-U",
            "postgres",
            "-d",
            "app",
            "-v",
            "ON_ERROR_STOP=1",
            "-tAc",
            query,
        ]);
        expect_code(&out, 0);
        stdout(&out).trim().to_string()
    }

    fn redis(&self, args: &[&str]) -> String {
        let id = self.container("cache");
        let mut full = vec!["exec", id.as_str(), "redis-cli"];
        full.extend_from_slice(args);
        let out = docker(&full);
        expect_code(&out, 0);
        stdout(&out).trim().to_string()
    }
}

#[test]
fn rows_survive_a_redeploy_of_the_database_and_a_destroy_without_data_loss() {
    let d = Data::new("keep");
    expect_code(&d.apply(1), 0);
    d.sql("CREATE TABLE orders (id int PRIMARY KEY, item text)");
    d.sql("INSERT INTO orders VALUES (1, 'anchor'), (2, 'rope')");
    assert_eq!(d.redis(&["SET", "cart", "two-items"]), "OK");
    let first = d.container("db");

    // An environment change replaces the database's task; the new one opens the same volume.
    let out = d.apply(2);
    expect_code(&out, 0);
    assert!(
        stdout(&out).contains("0 added, 1 changed, 0 destroyed"),
        "only the database changes:\n{}",
        text(&out)
    );
    let second = d.container("db");
    assert_ne!(first, second, "the redeploy started a new task");
    let env = docker(&["inspect", &second, "--format", "{{json .Config.Env}}"]);
    assert!(stdout(&env).contains("RELEASE_ROUND=2"), "{}", stdout(&env));
    assert_eq!(d.sql("SELECT item FROM orders ORDER BY id"), "anchor\nrope");
    d.sql("INSERT INTO orders VALUES (3, 'chain')");

    // Destroy without --allow-data-loss removes the services and keeps the volumes.
    let out = d.berth(&[
        "destroy",
        "--auto-approve",
        "--project",
        &d.name,
        "--env",
        "production",
    ]);
    expect_code(&out, 0);
    assert!(
        !docker(&["service", "inspect", &format!("{}_db", d.name)])
            .status
            .success(),
        "the database's service is gone:\n{}",
        text(&out)
    );
    for volume in ["pg", "cache"] {
        assert!(
            docker(&["volume", "inspect", &format!("{}_{volume}", d.name)])
                .status
                .success(),
            "the {volume} volume is kept:\n{}",
            text(&out)
        );
    }

    expect_code(&d.apply(2), 0);
    assert_eq!(
        d.sql("SELECT item FROM orders ORDER BY id"),
        "anchor\nrope\nchain"
    );
    assert_eq!(d.redis(&["GET", "cart"]), "two-items");
    // The cluster was not initialised again: the table's creation is older than this task.
    let logs = docker(&["logs", &d.container("db")]);
    assert!(
        !String::from_utf8_lossy(&logs.stderr).contains("initialising a new cluster"),
        "the second start reused the cluster"
    );
}

/// A project whose `migrate` job creates a table in the real PostgreSQL before `web` starts;
/// `extra` is appended to the job's shell command, `web_image` is web's image. (That web keeps
/// serving through the proxy while a failing job stops the apply is `edge::jobs`'s test.)
fn job_project(name: &str, secret_env: &str, extra: &str, web_image: &str) -> String {
    format!(
        r#"project {name} {{
  volume pg {{
    size = 1G
  }}

  secret pg_password {{
    env = "{secret_env}"
  }}

  service db {{
    image         = "berth/postgres:15"
    endpoint_mode = "dnsrr"
    args          = ["-c", "shared_buffers=16MB"]

    env {{
      POSTGRES_DB            = "app"
      POSTGRES_PASSWORD_FILE = secret.pg_password
    }}

    mount {{
      source = volume.pg
      target = "/var/lib/postgresql/data"
    }}

    resources {{
      limits {{
        cpu    = 0.5
        memory = 128M
      }}
    }}

    health {{
      command      = ["/usr/lib/postgresql/15/bin/pg_isready", "-q", "-h", "127.0.0.1"]
      interval     = 2s
      timeout      = 1s
      start_period = 20s
    }}
  }}

  job migrate {{
    image      = "berth/postgres:15"
    command    = ["/bin/sh", "-c", "PGPASSWORD=$(cat $DB_PASSWORD_FILE) psql -h db -U postgres -d app -v ON_ERROR_STOP=1 -c 'CREATE TABLE IF NOT EXISTS orders (id int PRIMARY KEY)' && echo schema ready{extra}"]
    timeout    = 60s
    depends_on = [db]

    env {{
      DB_PASSWORD_FILE = secret.pg_password
    }}

    resources {{
      limits {{
        cpu    = 0.25
        memory = 64M
      }}
    }}
  }}

  service web {{
    image      = "{web_image}"
    depends_on = [migrate]

    resources {{
      limits {{
        cpu    = 0.2
        memory = 32M
      }}
    }}

    health {{
      command  = ["/berth-demo", "check", "http://127.0.0.1:8080/health"]
      interval = 2s
      timeout  = 1s
    }}
  }}
}}
"#
    )
}

/// Removes, when dropped (passed or failed), a project's objects and the containers of its tasks
/// that Swarm leaves behind when a job's service is removed (a job's stopped containers outlive
/// its service, and the harness's cleanup removes services).
pub(crate) struct JobLeftovers(pub(crate) String);

impl Drop for JobLeftovers {
    fn drop(&mut self) {
        crate::harness::cleanup_project(&self.0);
        let filter = format!("label=com.docker.stack.namespace={}", self.0);
        let out = docker(&["ps", "-aq", "--filter", &filter]);
        let ids: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids.iter().map(String::as_str));
            docker(&args);
            // What those containers held (a volume) can go now.
            crate::harness::cleanup_project(&self.0);
        }
    }
}

/// An engine timestamp as comparable parts: the date and time (the first 19 characters), then
/// the fraction as nanoseconds. Docker's Go templates print a time as Go's `String()`
/// (`2026-12-01 19:30:12.12345 +0000 UTC`), whose fraction drops trailing zeros and is followed
/// by the zone; RFC 3339 (`…T19:30:12.123456789Z`) reads the same way.
fn instant(ts: &str) -> (String, u64) {
    let ts = ts.trim();
    let whole: String = ts.chars().take(19).collect();
    let digits: String = ts
        .get(19..)
        .and_then(|rest| rest.strip_prefix('.'))
        .map(|rest| rest.chars().take_while(char::is_ascii_digit).collect())
        .unwrap_or_default();
    let fraction = format!("{digits:0<9}");
    (whole, fraction[..9].parse().unwrap())
}

#[test]
fn engine_timestamps_compare_whatever_their_fraction() {
    // Go drops a fraction's trailing zeros: `.12` is 120 ms, later than `.119999`.
    assert!(
        instant("2026-12-01 19:30:12.12 +0000 UTC")
            > instant("2026-12-01 19:30:12.119999 +0000 UTC")
    );
    assert!(instant("2026-12-01 19:30:13 +0000 UTC") > instant("2026-12-01 19:30:12.9 +0000 UTC"));
    assert!(instant("2026-12-01T19:30:12.5Z") > instant("2026-12-01T19:30:12.123456789Z"));
    assert_eq!(instant("2026-12-01T19:30:12Z").1, 0);
}

/// The values of a Go template over every task of a service, one a line.
fn task_field(service: &str, format: &str) -> Vec<String> {
    let ids = docker(&["service", "ps", "-q", "--no-trunc", service]);
    let ids: Vec<String> = stdout(&ids).lines().map(str::to_string).collect();
    let mut args = vec!["inspect", "--format", format];
    args.extend(ids.iter().map(String::as_str));
    stdout(&docker(&args)).lines().map(str::to_string).collect()
}

#[test]
fn a_migration_job_runs_before_web_and_a_failing_one_stops_the_apply_before_web() {
    let d = Data::new("job");
    let _leftovers = JobLeftovers(d.name.clone());
    let write = |extra: &str, image: &str| {
        d.world.write(
            "main.berth",
            &job_project(&d.name, &d.secret_env, extra, image),
        )
    };
    write("", "berth/demo:1");
    let plan = d.berth(&["plan", "--project", &d.name]);
    expect_code(&plan, 0);
    assert!(
        stdout(&plan).contains("(the job runs once created"),
        "the plan says when the job runs:\n{}",
        text(&plan)
    );
    let out = d.berth(&["apply", "--auto-approve", "--project", &d.name]);
    expect_code(&out, 0);
    assert_eq!(d.sql("SELECT to_regclass('orders') IS NOT NULL"), "t");
    // Status shows the job's run, not a replica count.
    let status = d.berth(&["status", "--project", &d.name]);
    expect_code(&status, 0);
    let row = job_row(&stdout(&status));
    assert_eq!(row[1..4], ["-", "-", "completed"], "{}", text(&status));
    assert!(
        stdout(&status).contains("last run completed at")
            && stdout(&status).contains("exit code 0"),
        "{}",
        text(&status)
    );

    // Engine timestamps: web's task was created after the job's task completed.
    let job = format!("{}_migrate", d.name);
    let web = format!("{}_web", d.name);
    let completed: Vec<String> = task_field(&job, "{{.Status.State}} {{.Status.Timestamp}}")
        .into_iter()
        .filter_map(|l| l.strip_prefix("complete ").map(str::to_string))
        .collect();
    assert_eq!(completed.len(), 1, "one completed run of the job");
    let created = task_field(&web, "{{.CreatedAt}}");
    assert!(!created.is_empty());
    for c in &created {
        assert!(
            instant(c) > instant(&completed[0]),
            "web's task was created at {c}, before the job completed at {}",
            completed[0]
        );
    }

    // A new web image runs the job again first; this run fails, so web stays at version 1.
    write(
        " && echo 'cannot apply 0002_orders_total.sql' >&2 && exit 1",
        "berth/demo:2",
    );
    let plan = d.berth(&["plan", "--project", &d.name]);
    assert!(
        stdout(&plan).contains("(the job runs again"),
        "the plan says the job runs again:\n{}",
        text(&plan)
    );
    d.container("web");
    let out = d.berth(&["apply", "--auto-approve", "--project", &d.name]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    let all = text(&out);
    assert!(
        all.contains("cannot apply 0002_orders_total.sql"),
        "the job's log lines are shown:\n{all}"
    );
    assert!(
        all.contains("exited with code 1"),
        "the exit code is shown:\n{all}"
    );
    assert!(all.contains("service.web: skipped"), "{all}");
    assert_eq!(
        crate::harness::inspect(&web, "{{.Spec.TaskTemplate.ContainerSpec.Image}}"),
        "berth/demo:1"
    );

    // The state records both runs: the first one's exit 0 and this one's exit 1, with times.
    let path = d
        .world
        .state
        .join(&d.name)
        .join("production")
        .join("state.json");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let history = state["jobs"].clone();
    let runs = history[format!("{}/production/service.migrate", d.name)].clone();
    let codes: Vec<i64> = runs
        .as_array()
        .map(|r| r.iter().filter_map(|r| r["exit_code"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(codes, vec![0, 1], "the state's job history: {history}");

    // The failed run is not forgotten: the next plan runs the job again, and status shows it.
    let status = d.berth(&["status", "--project", &d.name]);
    let row = job_row(&stdout(&status));
    assert_eq!(row[1..4], ["-", "-", "failed"], "{}", text(&status));
    assert!(
        stdout(&status).contains("last run failed at") && stdout(&status).contains("exit code 1"),
        "{}",
        text(&status)
    );
    write("", "berth/demo:2");
    let plan = d.berth(&["plan", "--project", &d.name]);
    assert!(
        stdout(&plan).contains("its last run did not complete")
            || stdout(&plan).contains("its spec changes"),
        "{}",
        text(&plan)
    );
    expect_code(
        &d.berth(&["apply", "--auto-approve", "--project", &d.name]),
        0,
    );
    assert_eq!(
        crate::harness::inspect(&web, "{{.Spec.TaskTemplate.ContainerSpec.Image}}"),
        "berth/demo:2"
    );
    expect_code(
        &d.berth(&["plan", "--detailed-exitcode", "--project", &d.name]),
        0,
    );
    let status = d.berth(&["status", "--project", &d.name]);
    let row = job_row(&stdout(&status));
    assert_eq!(row[1..4], ["-", "-", "completed"], "{}", text(&status));

    // A destroy removes the job's containers too (Swarm leaves them behind for a job).
    let out = d.berth(&[
        "destroy",
        "--auto-approve",
        "--project",
        &d.name,
        "--env",
        "production",
    ]);
    expect_code(&out, 0);
    assert_eq!(job_containers(&job), "", "{}", text(&out));
}

/// The words of the first status row of a job (`migrate` or `seed`).
fn job_row(status: &str) -> Vec<String> {
    status
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .find(|w| w.first().is_some_and(|n| n == "migrate" || n == "seed"))
        .unwrap_or_else(|| panic!("no job row in:\n{status}"))
}

#[test]
fn a_job_over_its_timeout_stops_the_apply_before_its_dependants() {
    let mut world = World::new();
    let name = world.project("slow");
    let _leftovers = JobLeftovers(name.clone());
    let write = |script: &str| {
        world.write(
            "main.berth",
            &format!(
                r#"project {name} {{
  job seed {{
    image   = "berth/postgres:15"
    command = ["/bin/sh", "-c", "{script}"]
    timeout = 10s

    resources {{
      limits {{
        cpu    = 0.1
        memory = 32M
      }}
    }}
  }}

  service web {{
    image      = "berth/demo:1"
    depends_on = [seed]

    resources {{
      limits {{
        cpu    = 0.1
        memory = 32M
      }}
    }}
  }}
}}
"#
            ),
        )
    };
    let apply = || {
        world.berth(&[
            "apply",
            "--auto-approve",
            "--project",
            &name,
            world.dir_str(),
        ])
    };
    write("echo seeding; sleep 60");
    let started = Instant::now();
    let out = apply();
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("timed out"), "{all}");
    assert!(all.contains("did not complete within 10s"), "{all}");
    assert!(all.contains("| seeding"), "the job's log lines: {all}");
    assert!(all.contains("service.web: skipped"), "{all}");
    assert!(
        all.contains("berth removed the job's service, which stopped its task"),
        "{all}"
    );
    let seed = format!("{name}_seed");
    assert!(
        !docker(&["service", "inspect", &format!("{name}_web")])
            .status
            .success(),
        "web was not created"
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the job's own timeout applies, not the apply's"
    );

    // The engine runs nothing of the job any more: no service, and no container of its task
    // (running or stopped: berth waited for them to be gone).
    assert!(
        !docker(&["service", "inspect", &seed]).status.success(),
        "the job's service is removed"
    );
    assert_eq!(job_containers(&seed), "", "no container of the job is left");

    // The state and status say the last run timed out.
    let path = world
        .state
        .join(&name)
        .join("production")
        .join("state.json");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let runs = &state["jobs"][format!("{name}/production/service.seed")];
    assert_eq!(
        runs.as_array()
            .and_then(|r| r.last())
            .map(|r| r["state"].clone()),
        Some(serde_json::json!("timed out")),
        "{state}"
    );
    assert!(
        !state["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["address"] == format!("{name}/production/service.seed")),
        "the state forgets the removed service: {state}"
    );
    let status = world.berth(&["status", "--project", &name, world.dir_str()]);
    expect_code(&status, 0);
    let row = job_row(&stdout(&status));
    assert_eq!(row[1..5], ["-", "-", "timed", "out"], "{}", text(&status));
    assert!(
        stdout(&status).contains("last run timed out at"),
        "{}",
        text(&status)
    );

    // The next apply runs the job again (it creates it), and web follows once it exited 0.
    let plan = world.berth(&["plan", "--project", &name, world.dir_str()]);
    assert!(
        stdout(&plan).contains("(the job runs once created"),
        "the plan runs the job again:\n{}",
        text(&plan)
    );
    write("echo seeding; echo seeded");
    let out = apply();
    expect_code(&out, 0);
    assert!(docker(&["service", "inspect", &format!("{name}_web")])
        .status
        .success());
    let status = world.berth(&["status", "--project", &name, world.dir_str()]);
    let row = job_row(&stdout(&status));
    assert_eq!(row[1..4], ["-", "-", "completed"], "{}", text(&status));
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let states: Vec<serde_json::Value> = state["jobs"][format!("{name}/production/service.seed")]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].clone())
        .collect();
    assert_eq!(
        states,
        [
            serde_json::json!("timed out"),
            serde_json::json!("complete")
        ],
        "both runs are in the history: {state}"
    );

    // A destroy removes the job with its containers, which Swarm leaves behind for a job.
    let started = Instant::now();
    let out = world.berth(&[
        "destroy",
        "--auto-approve",
        "--project",
        &name,
        "--env",
        "production",
        world.dir_str(),
    ]);
    expect_code(&out, 0);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the destroy does not wait out its timeout for the job's containers"
    );
    assert_eq!(job_containers(&seed), "", "{}", text(&out));
}

/// The IDs of every container (running or not) of a service's tasks.
fn job_containers(service: &str) -> String {
    let out = docker(&[
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.swarm.service.name={service}"),
    ]);
    stdout(&out).trim().to_string()
}
