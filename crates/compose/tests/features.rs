//! The Compose Specification's features the importer reads, each shown on a small project of
//! this test's own (the corpus holds the real files): several files merged, `include`,
//! `extends` from another file, `.env` and `env_file`, every form of interpolation, profiles,
//! short and long syntax of ports, volumes, secrets and configs, `depends_on` conditions,
//! `command` as a string, the whole `deploy` section, health checks, external networks and a
//! bind of one file. The result is a snapshot, and it validates.

use berth_compose::{check, import, Fs, ImportOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

struct Files(BTreeMap<&'static str, &'static str>);

impl Fs for Files {
    fn read(&self, path: &Path) -> Option<String> {
        self.0.get(path.to_str()?).map(|s| s.to_string())
    }
    fn is_file(&self, path: &Path) -> bool {
        path.to_str().is_some_and(|p| self.0.contains_key(p))
    }
}

const BASE: &str = r#"
name: Shop_App
include:
  - cache.yaml
x-defaults: &defaults
  restart: on-failure:3
  deploy:
    resources:
      limits: {cpus: "0.5", memory: 256m}
services:
  web:
    <<: *defaults
    extends:
      file: common.yaml
      service: base
    image: registry.example.com/shop/web:${WEB_TAG:-1.4.2}
    command: serve --port 8080 --name "shop web"
    env_file: [web.env]
    environment:
      LOG_LEVEL: ${LOG_LEVEL-info}
      API_KEY: ${API_KEY:?set the API key}
      PRICE: "$$5"
      HOME_DIR:
    ports:
      - "8080:8080"
      - "127.0.0.1:9229:9229"
      - target: 9000
        published: 19000
        protocol: udp
        mode: ingress
    volumes:
      - data:/var/lib/shop
      - type: volume
        source: data
        target: /srv/ro
        read_only: true
      - /tmp/cache
      - type: tmpfs
        target: /run/cache
        tmpfs: {size: 16777216}
      - ./nginx.conf:/etc/nginx/nginx.conf:ro
    secrets:
      - db_password
      - source: api_token
        target: token
        mode: 0400
    configs:
      - site
      - source: site
        target: /etc/site/site.conf
    healthcheck:
      test: curl -fsS http://localhost:8080/health
      interval: 10s
      timeout: 2s
      retries: 3
      start_period: 5s
    depends_on:
      db: {condition: service_healthy}
      cache: {condition: service_started}
    networks: [front, back, proxy]
    stop_grace_period: 1m30s
    user: "1000:1000"
    read_only: true
    cap_drop: [ALL]
    cap_add: [NET_BIND_SERVICE]
    container_name: shop-web
    deploy:
      replicas: 3
      endpoint_mode: vip
      labels:
        com.example.team: shop
        traefik.enable: "true"
        traefik.http.routers.shop.rule: Host(`shop.example.com`) && PathPrefix(`/app`)
        traefik.http.routers.shop.entrypoints: websecure
        traefik.http.routers.shop.tls.certresolver: le
        traefik.http.services.shop.loadbalancer.server.port: "8080"
      placement:
        constraints: [node.role == worker]
        preferences: [{spread: node.labels.zone}]
        max_replicas_per_node: 2
      update_config: {parallelism: 2, delay: 10s, order: start-first, failure_action: rollback, monitor: 30s, max_failure_ratio: 0.1}
      rollback_config: {parallelism: 1, order: stop-first}
      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3, window: 2m}
  db:
    image: postgres:16.2
    environment:
      - POSTGRES_PASSWORD_FILE=/run/secrets/db_password
      - POSTGRES_DB
    secrets: [db_password]
    volumes: [pg:/var/lib/postgresql/data]
    networks: [back]
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U $${POSTGRES_USER}"]
      interval: 5s
  debug:
    image: busybox:1.36
    profiles: [debug]
    entrypoint: ["sleep"]
    command: ["infinity"]
    deploy:
      mode: global
networks:
  front: {}
  back:
    internal: true
    driver_opts: {encrypted: ""}
  proxy:
    external: true
volumes:
  data: {}
  pg:
    labels: {com.example.backup: daily}
secrets:
  db_password: {file: ./secrets/db_password.txt}
  api_token: {environment: API_TOKEN}
configs:
  site: {file: ./site.conf}
"#;

const OVERRIDE: &str = r#"
services:
  web:
    environment:
      LOG_LEVEL: debug
    deploy:
      replicas: 2
"#;

const COMMON: &str = r#"
services:
  base:
    working_dir: /app
    labels: [com.example.tier=frontend]
"#;

const CACHE: &str = r#"
services:
  cache:
    image: redis:7.2
    command: ["redis-server", "--save", ""]
"#;

fn files() -> Files {
    Files(BTreeMap::from([
        ("/shop/compose.yaml", BASE),
        ("/shop/compose.override.yaml", OVERRIDE),
        ("/shop/common.yaml", COMMON),
        ("/shop/cache.yaml", CACHE),
        (
            "/shop/web.env",
            "# the web's settings\nWORKERS=4\nLOG_LEVEL=warn\n",
        ),
        ("/shop/.env", "WEB_TAG=1.5.0\nPOSTGRES_DB=shop\n"),
        ("/shop/nginx.conf", "events {}\n"),
        ("/shop/site.conf", "x\n"),
        ("/shop/secrets/db_password.txt", "s3cret\n"),
    ]))
}

#[test]
fn every_feature_is_read_and_the_project_validates() {
    let imported = import(
        &[
            PathBuf::from("/shop/compose.yaml"),
            PathBuf::from("/shop/compose.override.yaml"),
        ],
        &files(),
        &ImportOptions::default(),
    );
    let codes: Vec<String> = imported
        .diagnostics
        .iter()
        .map(|d| format!("{} {}", d.code, d.message))
        .collect();
    let text = imported
        .text
        .clone()
        .unwrap_or_else(|| panic!("refused: {codes:#?}"));
    assert_eq!(imported.project, "shop-app");
    let analysis = check(&imported.file_name(), &text, &imported.project, Vec::new());
    let errors: Vec<_> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    assert!(errors.is_empty(), "{text}\n{errors:#?}");
    // What the merge, the extends, the include and the files gave (spaces as the formatter
    // aligns them do not matter).
    let squashed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for want in [
        "LOG_LEVEL = \"debug\"",   // the override wins over environment and env_file
        "WORKERS   = \"4\"",       // from env_file
        "workdir = \"/app\"",      // extended from common.yaml
        "service cache {",         // included
        "replicas      = 2",       // the override's
        "web:${var.web_tag}\"",    // interpolated, a variable
        "default     = \"1.5.0\"", // .env wins over the default
        "PRICE     = \"$5\"",      // `$$`
        "HOME_DIR  = \"${var.home_dir}\"", // a key without a value
        "enabled = false",         // a profile
        "host = \"shop.example.com\"",
        "path = \"/app\"",
        "tls  = true",
        "source = config.web_nginx_conf", // the bind of one file
        "target = \"/run/secrets/token\"",
        "env = \"BERTH_SHOP_APP_API_TOKEN\"",
        "spread                = [\"node.labels.zone\"]",
        "args    = [\"serve\", \"--port\", \"8080\", \"--name\", \"shop web\"]",
    ] {
        let want = want.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(squashed.contains(&want), "missing {want:?} in\n{text}");
    }
    assert!(
        !text.contains("9229"),
        "a loopback port is not published:\n{text}"
    );
    let copies: Vec<&str> = imported.files.iter().map(|f| f.to.as_str()).collect();
    assert_eq!(
        copies,
        [
            "shop-app/db_password.txt",
            "shop-app/site.conf",
            "shop-app/nginx.conf"
        ]
    );
    insta::assert_snapshot!("features", text);
    insta::assert_snapshot!("features_diagnostics", codes.join("\n"));
}
