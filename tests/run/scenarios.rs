//! Scenario files: errors that name the file and the field, the reference file, the shipped scenarios.

use super::*;

#[test]
fn bad_scenarios_exit_2_naming_the_file_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("unknown.toml", "[run]\ndurations = 3\n", "run.durations"),
        (
            "weight.toml",
            "[mix]\nforged = -1.0\n",
            "mix.forged: weight must be ≥ 0",
        ),
        (
            "variant.toml",
            "[mix.forged_variants]\nbit_flip = -2\n",
            "mix.forged_variants.bit_flip",
        ),
        (
            "keyfile.toml",
            "[keys]\nprivate_key_files = [\"missing.pem\"]\n",
            "keys.private_key_files[0]",
        ),
        (
            "type.toml",
            "[devices]\ncount = \"many\"\n",
            "devices.count",
        ),
        (
            "cafile.toml",
            "[target]\nkind = \"external\"\nurl = \"https://127.0.0.1:1\"\nca_file = \"nope.pem\"\n",
            "target.ca_file",
        ),
        (
            "ledger.toml",
            "[target]\nledger_capacity = 0\n",
            "target.ledger_capacity",
        ),
        (
            "function.toml",
            "[authorizer.function]\nmode = \"deny\"\nprincipal_id = \"x\"\n",
            "authorizer.function",
        ),
    ];
    for (file, body, field) in cases {
        let path = write_scenario(dir.path(), file, body);
        let out = dir.path().join(format!("out-{file}"));
        let (o, report) = run(&[path.to_str().unwrap()], &out);
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{file}: {stderr}");
        assert!(
            stderr.contains(&path.display().to_string()),
            "{file}: the file is named: {stderr}"
        );
        assert!(
            stderr.contains(field),
            "{file}: {field:?} is named: {stderr}"
        );
        assert!(report.is_none(), "{file}: no report for a setup error");
    }
    let missing = dir.path().join("absent.toml");
    let (o, _) = run(&[missing.to_str().unwrap()], &dir.path().join("out-absent"));
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("absent.toml"));
}

#[test]
fn reference_toml_shows_every_field_with_its_default() {
    let path = repo("scenarios/reference.toml");
    let src = std::fs::read_to_string(&path).unwrap();
    let parsed = scenario::parse(&src, "scenarios/reference.toml").expect("reference.toml parses");
    assert_eq!(
        parsed,
        Scenario::default(),
        "reference.toml drifted from Scenario::default()"
    );
    // Every field of the defaults is written out (not left to its default) ...
    let defaults = toml::Table::try_from(Scenario::default()).unwrap();
    let written: toml::Table = toml::from_str(&src).unwrap();
    fn walk(want: &toml::Table, got: &toml::Table, at: &str, missing: &mut Vec<String>) {
        for (k, v) in want {
            let path = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            match (v, got.get(k)) {
                (toml::Value::Table(w), Some(toml::Value::Table(g))) => walk(w, g, &path, missing),
                (_, None) => missing.push(path),
                _ => {}
            }
        }
    }
    let mut missing = Vec::new();
    walk(&defaults, &written, "", &mut missing);
    assert!(missing.is_empty(), "reference.toml lacks {missing:?}");
    // ... with a comment right above it.
    let lines: Vec<&str> = src.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim();
        if t.contains(" = ") && !t.starts_with('#') {
            assert!(
                i > 0 && lines[i - 1].trim().starts_with('#'),
                "reference.toml line {}: {t:?} has no comment",
                i + 1
            );
        }
    }
    commented_tables_show_their_defaults(&src);
    commented_caps_show_the_remote_defaults(&src);
    commented_guards_show_the_remote_defaults(&src);
}

/// `[abort]`'s guards are optional (unset: `on_forged_invocation` where a witness sees invocations live, the
/// others off on loopback and a remote target's defaults); reference.toml shows each commented out with the value
/// a remote target with a live witness gets.
fn commented_guards_show_the_remote_defaults(src: &str) {
    use tokenstorm::safety::abort::Guards;
    let start = src.find("\n[abort]\n").expect("reference.toml has [abort]");
    let shown: Vec<&str> = src[start + 1..]
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| l.split_once(" = ").is_some_and(|(k, _)| !k.contains(' ')))
        .collect();
    assert_eq!(shown.len(), 5, "{shown:?}");
    let parsed = scenario::parse(&format!("[abort]\n{}\n", shown.join("\n")), "[abort]")
        .expect("the guards parse");
    let cost_cap = tokenstorm::safety::caps::REMOTE_DEFAULTS.max_cost_usd;
    assert_eq!(
        Guards::resolve(&parsed.abort, true).unwrap(),
        Guards::resolve(&Default::default(), true)
            .unwrap()
            .in_force(true, cost_cap)
    );
}

/// `[safety]`'s caps are optional (unset: the remote default, or uncapped on loopback); reference.toml shows each
/// commented out with its remote default.
fn commented_caps_show_the_remote_defaults(src: &str) {
    let start = src
        .find("\n[safety]\n")
        .expect("reference.toml has [safety]");
    let table = &src[start + 1..];
    let end = table[1..].find("\n[").map_or(table.len(), |i| i + 1);
    let caps: Vec<&str> = table[..end]
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| l.starts_with("max_") || l.starts_with("client_id_gap_s = "))
        .collect();
    assert_eq!(caps.len(), 8, "{caps:?}");
    let shown = format!("[safety]\n{}\n", caps.join("\n"));
    let parsed = scenario::parse(&shown, "reference.toml [safety]").expect("the caps parse");
    assert_eq!(
        tokenstorm::safety::Caps::resolve(&parsed.safety, true).unwrap(),
        tokenstorm::safety::caps::REMOTE_DEFAULTS
    );
}

/// Tables whose presence turns something on (`[target.aws]`) are shown commented out (`# [target.aws]`, then
/// `# # comment` / `# key = value` lines): uncommented, they must parse to the table's defaults, write every
/// field, and comment each one.
fn commented_tables_show_their_defaults(src: &str) {
    let lines: Vec<&str> = src.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim() == "# [target.aws]")
        .expect("reference.toml shows [target.aws] commented out");
    let block: Vec<&str> = lines[start..]
        .iter()
        .take_while(|l| l.starts_with('#'))
        .map(|l| {
            l.strip_prefix("# ")
                .unwrap_or_else(|| panic!("{l:?}: `# ` expected"))
        })
        .collect();
    let text = block.join("\n");
    let parsed = scenario::parse(&format!("[target]\nkind = \"external\"\n{text}\n"), "block")
        .unwrap_or_else(|e| panic!("the commented [target.aws] parses: {e}"));
    let defaults = tokenstorm::scenario::aws::AwsSection::default();
    assert_eq!(
        parsed.target.aws.as_ref(),
        Some(&defaults),
        "[target.aws] drifted"
    );
    let want = toml::Table::try_from(&defaults).unwrap();
    for key in want.keys() {
        let at = block
            .iter()
            .position(|l| l.starts_with(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("reference.toml lacks target.aws.{key}"));
        assert!(
            at > 0 && block[at - 1].starts_with('#'),
            "target.aws.{key} has no comment"
        );
    }
}

#[test]
fn shipped_scenarios_parse_and_resolve() {
    // Every scenarios/*.toml (the cost-abuse ones included), so a new file cannot ship broken.
    let mut paths: Vec<_> = std::fs::read_dir(repo("scenarios"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let names: Vec<String> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in [
        "quickstart.toml",
        "reference.toml",
        "cost-abuse-replay-static.toml",
        "cost-abuse-signing-disabled.toml",
        "cost-abuse-http-caching.toml",
        "cost-abuse-http-no-caching.toml",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    for path in paths {
        let s = scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let plan = tokenstorm::scenario::Plan::resolve(s, &path).unwrap_or_else(|e| panic!("{e}"));
        assert!(plan.devices > 0);
    }
    let quick = scenario::load(&repo("scenarios/quickstart.toml")).unwrap();
    assert_eq!(quick.authorizer.name, "MyCustomAuthorizer");
    assert_eq!(quick.authorizer.token_key_name, "X-My-App-custom-key");
    assert_eq!(quick.devices.static_token, "MyStringThatNeedsToBeSigned");
    assert_eq!(quick.http.topic, "customAuhtTestTopic");
    assert!(quick.mix.forged > 0.0 && quick.mix.replayed > 0.0 && quick.devices.count >= 200);
}

#[test]
fn transport_groups_and_mqtt_settings_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "groups.toml",
            "[transports]\nhttps = 0.0\n",
            "transports: every transport weight is 0",
        ),
        (
            "neg.toml",
            "[transports]\nwss = -1.0\n",
            "transports.wss: weight must be ≥ 0",
        ),
        ("qos.toml", "[mqtt]\nqos = 2\n", "mqtt.qos: must be 0 or 1"),
        (
            "keepalive.toml",
            "[mqtt]\nkeep_alive_s = 5\n",
            "mqtt.keep_alive_s",
        ),
        (
            "external.toml",
            "[transports]\nhttps = 0.0\nmqtt_tls = 1.0\n[target]\nkind = \"external\"\nverify_tls = false\n",
            "target.mqtt_tls_addr: transports.mqtt_tls has devices",
        ),
        (
            "plain.toml",
            "[mqtt]\nusername_mode = \"plain\"\n",
            "mqtt.username",
        ),
    ];
    for (name, body, want) in cases {
        let path = write_scenario(dir.path(), name, body);
        let (o, report) = run(&[path.to_str().unwrap()], &dir.path().join("out"));
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(want), "{name}: want {want:?} in {stderr}");
        assert!(report.is_none(), "{name}: no report for a bad scenario");
    }
}
