//! What `berth validate`, `plan` and `apply` say about a secret or config source that is not
//! there (E0416), held in snapshots: the absolute path looked for or the variable's name, at
//! the `file` / `env` value, and never anything read from a source that is there.

use super::load;
use berth_lang::{analyze, render, Code, Input, Options};
use std::path::PathBuf;

const CONFIG: &str = r#"project shop {
  secret present {
    file = "shop/present.txt"
  }

  secret key {
    file = "shop/absent.txt"
  }

  secret token {
    env = "BERTH_SHOP_SOURCES_TEST_NEVER_SET"
  }

  config settings {
    file = "shop/settings.toml"
  }

  service web {
    image = "berth/demo:1"

    env {
      PRESENT_FILE = secret.present
      KEY_FILE     = secret.key
      TOKEN_FILE   = secret.token
    }

    mount {
      source = config.settings
      target = "/etc/settings.toml"
    }

    resources {
      limits {
        memory = 16M
      }
    }
  }
}
"#;

/// A configuration directory with `CONFIG` and only `shop/present.txt`, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("berth-sources-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("shop")).unwrap();
        std::fs::write(dir.join("shop/present.txt"), "pr3sent-value").unwrap();
        Dir(dir)
    }

    fn analysis(&self) -> berth_lang::Analysis {
        let a = analyze(
            self.0.to_str().unwrap(),
            vec![Input {
                name: "main.berth".into(),
                bytes: CONFIG.as_bytes().to_vec(),
            }],
            &Options::default(),
        );
        assert!(!a.has_errors(), "{:?}", a.diagnostics);
        a
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn validate_reports_each_missing_source_as_an_error_at_its_value() {
    assert!(std::env::var_os("BERTH_SHOP_SOURCES_TEST_NEVER_SET").is_none());
    let dir = Dir::new("validate");
    let mut analysis = dir.analysis();
    load::check_sources(&dir.0, &mut analysis, None, true);
    assert!(analysis.has_errors());
    assert!(
        analysis.config.is_none(),
        "a missing source leaves no model to plan"
    );
    let codes: Vec<Code> = analysis.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, [Code::SourceNotFound; 3]);
    let style = render::Style {
        color: false,
        width: 100,
    };
    // The temporary directory, which differs between runs, is `[DIR]` (before rendering, which
    // wraps long lines).
    let shown = dir.0.display().to_string();
    let mut diagnostics = analysis.diagnostics.clone();
    for d in &mut diagnostics {
        d.message = d.message.replace(&shown, "[DIR]");
        d.help = d.help.as_ref().map(|h| h.replace(&shown, "[DIR]"));
    }
    let human = render::human(&diagnostics, &analysis.sources, style);
    assert!(!human.contains("pr3sent-value") && !human.contains(&shown));
    insta::assert_snapshot!("missing_sources_human", human);
    let json =
        serde_json::to_string_pretty(&render::json(&diagnostics, &analysis.sources)).unwrap();
    insta::assert_snapshot!("missing_sources_json", json);
}

#[test]
fn plan_and_apply_refuse_with_the_same_diagnostics() {
    let dir = Dir::new("plan");
    let mut validated = dir.analysis();
    load::check_sources(&dir.0, &mut validated, None, true);
    let analysis = dir.analysis();
    let config = analysis.config.as_ref().unwrap();
    let deployments: Vec<_> = config.deployments.iter().collect();
    let refused = load::missing_sources(&dir.0, &deployments);
    let key = |d: &berth_lang::Diagnostic| (d.code, d.span, d.message.clone());
    assert_eq!(
        refused.iter().map(key).collect::<Vec<_>>(),
        validated.diagnostics.iter().map(key).collect::<Vec<_>>()
    );
}

#[test]
fn without_report_missing_only_links_out_are_checked() {
    let dir = Dir::new("links");
    let mut analysis = dir.analysis();
    load::check_sources(&dir.0, &mut analysis, None, false);
    assert!(
        analysis.diagnostics.is_empty(),
        "{:?}",
        analysis.diagnostics
    );
    assert!(analysis.config.is_some());
}

#[test]
fn a_plan_of_the_platform_names_its_missing_sources_at_their_attributes() {
    let dir = Dir::new("platform");
    std::fs::write(dir.0.join("shop.pem"), "chain").unwrap();
    let text = "platform {\n  domain              = \"keys.test\"\n  acme_ca_certificate = \"ca.pem\"\n\n  certificate shop {\n    cert    = \"shop.pem\"\n    key_env = \"BERTH_SOURCES_TEST_NEVER_SET_KEY\"\n  }\n\n  certificate billing {\n    cert = \"billing.pem\"\n    key  = \"billing.key\"\n  }\n}\n";
    let a = analyze(
        dir.0.to_str().unwrap(),
        vec![Input {
            name: "platform.berth".into(),
            bytes: text.as_bytes().to_vec(),
        }],
        &Options::default(),
    );
    assert!(!a.has_errors(), "{:?}", a.diagnostics);
    let platform = &a.config.as_ref().unwrap().platform;
    let shown = dir.0.display().to_string();
    let mut found = load::missing_platform_sources(&dir.0, platform);
    for d in &mut found {
        d.message = d.message.replace(&shown, "[DIR]");
        d.help = d.help.as_ref().map(|h| h.replace(&shown, "[DIR]"));
    }
    let style = render::Style {
        color: false,
        width: 100,
    };
    insta::assert_snapshot!(
        "missing_platform_sources",
        render::human(&found, &a.sources, style)
    );
}
