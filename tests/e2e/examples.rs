//! Every example of `examples/` applied as a whole on the real Swarm, through a real Traefik:
//! it converges, its routes answer, and the plan right after is empty.
//!
//! The examples are what users copy first, so they are tested as they are written, with only
//! what must differ on a shared test machine rewritten: project names (unique per run), the
//! platform's domain (the test's own, so no host collides) and the proxy's ports (the edge
//! tests' 18080/18443 instead of 80/443). The proxy is created and removed by the edge tests'
//! guard, one test at a time.

use crate::edge::{field, get, get_ok, Edge, HTTPS_PORT, HTTP_PORT};
use crate::harness::{expect_code, stdout, text};
use std::path::Path;
use std::time::Duration;

/// Copies `examples/<name>` into the test's directory, rewritten for this machine and run, and
/// returns the unique project names by their names in the example.
fn install(e: &mut Edge, name: &str, domain_in_example: &str) -> Vec<(String, String)> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    let mut files = Vec::new();
    collect(&source, &source, &mut files);
    assert!(!files.is_empty(), "examples/{name} holds no file");

    // Projects are declared `project <name> {` at the start of a line.
    let mut projects = Vec::new();
    for (_, text) in &files {
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("project ") {
                let project = rest.trim_end_matches('{').trim().to_string();
                let unique = e.world.project(&project);
                projects.push((project, unique));
            }
        }
    }
    assert!(!projects.is_empty(), "examples/{name} declares no project");

    for (path, text) in files {
        let mut text = text;
        if path.extension().is_some_and(|x| x == "berth") {
            for (project, unique) in &projects {
                for kind in ["project", "grant"] {
                    text = text.replace(
                        &format!("{kind} {project} {{"),
                        &format!("{kind} {unique} {{"),
                    );
                }
                // A project's secret and config files live in its own directory.
                text = text.replace(&format!("\"{project}/"), &format!("\"{unique}/"));
            }
            text = text.replace(
                &format!("\"{domain_in_example}\""),
                &format!("\"{}\"", e.domain),
            );
            text = text.replace(
                &format!(".{domain_in_example}\""),
                &format!(".{}\"", e.domain),
            );
            text = rewrite_port(&text, "http_port", 80, HTTP_PORT);
            text = rewrite_port(&text, "https_port", 443, HTTPS_PORT);
            if !text.contains("https_port") {
                text = text.replacen(
                    &format!("http_port = {HTTP_PORT}"),
                    &format!("http_port = {HTTP_PORT}\n    https_port = {HTTPS_PORT}"),
                    1,
                );
            }
        }
        // A project's file (`shop.berth`) and directory (`shop/`) are named after it.
        let mut path = path;
        for (project, unique) in &projects {
            let first = path.components().next().map(|c| c.as_os_str().to_owned());
            if first.as_deref() == Some(std::ffi::OsStr::new(&format!("{project}.berth"))) {
                path = std::path::PathBuf::from(format!("{unique}.berth"));
            } else if first.as_deref() == Some(std::ffi::OsStr::new(project.as_str())) {
                path = Path::new(unique).join(path.strip_prefix(project).unwrap());
            }
        }
        e.world.write(path.to_str().unwrap(), &text);
    }
    projects
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(std::path::PathBuf, String)>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            if entry.file_name() != ".berth" {
                collect(root, &path, out);
            }
        } else {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((path.strip_prefix(root).unwrap().to_path_buf(), text));
        }
    }
}

/// `http_port = 80` (any spacing) becomes `http_port = <to>`.
fn rewrite_port(text: &str, attribute: &str, from: u16, to: u16) -> String {
    text.lines()
        .map(|line| {
            let trimmed = line.trim_start();
            match trimmed.strip_prefix(attribute) {
                Some(rest)
                    if rest.trim_start().strip_prefix('=').map(str::trim)
                        == Some(&from.to_string()) =>
                {
                    let indent = &line[..line.len() - trimmed.len()];
                    format!("{indent}{attribute} = {to}")
                }
                _ => line.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// `berth plan --detailed-exitcode` of the whole directory (plus `extra`) must be empty.
#[track_caller]
fn expect_empty_plan(e: &Edge, extra: &[&str]) {
    let mut args = vec!["plan", "--detailed-exitcode"];
    args.extend_from_slice(extra);
    args.push(e.world.dir_str());
    let out = e.world.berth(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the plan after applying {extra:?} is not empty:\n{}",
        text(&out)
    );
}

/// The URLs `berth status` lists for the project's routes (JSON form).
fn status_urls(e: &Edge, project: &str) -> Vec<String> {
    let out = e.world.berth(&[
        "status",
        "--format",
        "json",
        "--project",
        project,
        e.world.dir_str(),
    ]);
    expect_code(&out, 0);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("status is JSON");
    let mut urls = Vec::new();
    find_urls(&json, &mut urls);
    urls
}

fn find_urls(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                match v {
                    serde_json::Value::String(s) if k == "url" => out.push(s.clone()),
                    _ => find_urls(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| find_urls(i, out)),
        _ => {}
    }
}

/// The host and path of a route URL such as `http://hello.<domain>/`.
fn host_and_path(url: &str) -> (String, String) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r).to_string();
    let (authority, path) = rest.split_once('/').unwrap_or((&rest, ""));
    let host = authority.split(':').next().unwrap().to_string();
    (host, format!("/{path}"))
}

#[test]
fn the_quickstart_applies_answers_through_traefik_and_plans_nothing_after() {
    let mut e = Edge::new();
    let projects = install(&mut e, "quickstart", "localhost");
    let hello = projects[0].1.clone();

    let out = e
        .world
        .berth(&["apply", "--auto-approve", e.world.dir_str()]);
    expect_code(&out, 0);
    expect_empty_plan(&e, &[]);

    let host = format!("{hello}.{}", e.domain);
    let body = get_ok(&host, "/");
    assert_eq!(field(&body, "project"), Some(hello.as_str()), "{body}");
    let urls = status_urls(&e, &hello);
    assert!(
        urls.iter().any(|u| host_and_path(u).0 == host),
        "status lists the route of {host}: {urls:?}"
    );
}

/// Who may apply the whole tenants example: `examples/tenants` lists the platform team among
/// the platform's `admins` and every project's `admin`s.
const TENANTS_ACTOR: &str = "ops@example.com";

#[test]
fn the_tenants_apply_in_every_environment_answer_and_plan_nothing_after() {
    // Edge::new holds the heavy tests' lock too.
    let mut e = Edge::new();
    let projects = install(&mut e, "tenants", "tenants.localhost");
    let unique = |name: &str| {
        projects
            .iter()
            .find(|(p, _)| p == name)
            .unwrap_or_else(|| panic!("examples/tenants declares no project {name}"))
            .1
            .clone()
    };
    let (shop, billing, studio) = (unique("shop"), unique("billing"), unique("studio"));

    // Every environment but previews, then a preview of the shop, by the platform team: the
    // platform's admin, and an admin of every project.
    let out = e.world.berth(&[
        "apply",
        "--auto-approve",
        "--actor",
        TENANTS_ACTOR,
        "--timeout",
        "300",
        e.world.dir_str(),
    ]);
    expect_code(&out, 0);
    let preview = [
        "--project",
        shop.as_str(),
        "--env",
        "preview",
        "--var",
        "pr=7",
    ];
    let mut args = vec!["apply", "--auto-approve", "--actor", TENANTS_ACTOR];
    args.extend_from_slice(&preview);
    args.push(e.world.dir_str());
    expect_code(&e.world.berth(&args), 0);

    expect_empty_plan(&e, &[]);
    expect_empty_plan(&e, &preview);

    // Every route the state lists answers through the proxy, from the right project.
    for (project, expected) in [
        (&shop, format!("{shop}.{}", e.domain)),
        // Production's canary of web, alone at its preview host.
        (&shop, format!("canary-{shop}.{}", e.domain)),
        (&shop, format!("{shop}-staging.{}", e.domain)),
        (&shop, format!("{shop}-pr-7.{}", e.domain)),
        (&billing, format!("api-{billing}.{}", e.domain)),
        (&billing, format!("billing-api.{}", e.domain)),
        (&studio, format!("{studio}.{}", e.domain)),
        (&studio, format!("api-{studio}-dev.{}", e.domain)),
    ] {
        let urls = status_urls(&e, project);
        let url = urls
            .iter()
            .find(|u| host_and_path(u).0 == expected)
            .unwrap_or_else(|| {
                panic!("status of {project} lists no route of {expected}: {urls:?}")
            });
        let (host, path) = host_and_path(url);
        if path == "/" {
            let body = get_ok(&host, &path);
            assert!(
                field(&body, "version").is_some(),
                "{url} answers with the demo: {body}"
            );
        } else {
            // The demo serves `/` only: a path route reaches it when the 404 is the demo's
            // (`not found`), not Traefik's (`404 page not found`).
            let answer = get(&host, &path, Duration::from_secs(10));
            assert!(
                matches!(&answer, Ok((404, body)) if body == "not found\n"),
                "{url} reaches the demo: {answer:?}"
            );
        }
    }
}
