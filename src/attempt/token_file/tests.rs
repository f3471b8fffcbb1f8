use super::*;

const SIG: &str = "c2lnbmF0dXJl";

fn devices() -> Devices<'static> {
    Devices {
        count: 3,
        client_id_prefix: "tokenstorm-",
    }
}

#[test]
fn the_form_follows_the_extension() {
    assert_eq!(Form::of("t.jsonl"), Ok(Form::JsonLines));
    assert_eq!(Form::of("t.NDJSON"), Ok(Form::JsonLines));
    assert_eq!(Form::of("dir.x/t.csv"), Ok(Form::Csv));
    assert!(Form::of("t.json").unwrap_err().contains(".jsonl"));
}

#[test]
fn json_lines_rows_name_devices_by_number_or_client_id() {
    let text = format!(
        "{{\"device\": 0, \"token\": \"a\", \"signature\": \"{SIG}\"}}\n\n\
         {{\"device\": \"tokenstorm-000002\", \"token\": \"b\", \"signature\": \"{SIG}\", \"expired\": true}}\n\
         {{\"device\": \"001\", \"token\": \"c\", \"signature\": \"{SIG}\", \"expired\": false}}\n"
    );
    let rows = parse(&text, Form::JsonLines, devices()).unwrap();
    let got: Vec<(usize, u32, &str, bool)> = rows
        .iter()
        .map(|r| (r.line, r.device, r.token.as_str(), r.expired))
        .collect();
    assert_eq!(
        got,
        [(1, 0, "a", false), (3, 2, "b", true), (4, 1, "c", false)]
    );
    let per = per_device(&rows, 3);
    assert_eq!(per[0].0.len(), 1);
    assert!(per[1].1.is_none());
    assert_eq!(per[2].1.as_ref().unwrap().token, "b");
    assert!(per[2].0.is_empty());
}

#[test]
fn csv_rows_follow_the_header_and_quotes() {
    let text = format!("signature,device,token,expired\r\n{SIG},0,a,\n\"{SIG}\",2,\"x,\"\"y\",1\n");
    let rows = parse(&text, Form::Csv, devices()).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[1].line, rows[1].device, rows[1].token.as_str()),
        (3, 2, "x,\"y")
    );
    assert!(rows[1].expired && !rows[0].expired);
    assert_eq!(rows[0].signature, SIG);
}

#[test]
fn bad_rows_name_their_line_and_fault() {
    let j = |l: &str| parse(l, Form::JsonLines, devices()).unwrap_err();
    let c = |l: &str| parse(l, Form::Csv, devices()).unwrap_err();
    let cases = [
        (j("\n[1]"), 2, "not a JSON object"),
        (
            j(&format!(
                "{{\"device\": 3, \"token\": \"a\", \"signature\": \"{SIG}\"}}"
            )),
            1,
            "unknown device \"3\"",
        ),
        (
            j(&format!(
                "{{\"device\": \"dev-1\", \"token\": \"a\", \"signature\": \"{SIG}\"}}"
            )),
            1,
            "client id tokenstorm-000000",
        ),
        (j("{\"device\": 1, \"token\": \"a\"}"), 1, "no signature"),
        (
            j(&format!(
                "{{\"device\": 1, \"token\": \"a b\", \"signature\": \"{SIG}\"}}"
            )),
            1,
            "printable ASCII",
        ),
        (
            j("{\"device\": 1, \"token\": \"a\", \"signature\": \"c2ln-_\"}"),
            1,
            "not standard base64",
        ),
        (
            j(&format!(
                "{{\"device\": 1, \"token\": \"a\", \"sig\": \"{SIG}\"}}"
            )),
            1,
            "unknown key \"sig\"",
        ),
        (
            j(&format!(
                "{{\"device\": 1, \"token\": \"a\", \"signature\": \"{SIG}\", \"expired\": \"yes\"}}"
            )),
            1,
            "expired must be",
        ),
        (c("device,token\n"), 1, "no signature column"),
        (
            c("device,token,signature,when\n"),
            1,
            "unknown column \"when\"",
        ),
        (
            c(&format!("device,token,signature\n0,a,{SIG},x\n")),
            2,
            "4 fields, the header has 3",
        ),
        (
            c(&format!("device,token,signature\n0,\"a,{SIG}\n")),
            2,
            "not closed",
        ),
        (
            c(&format!(
                "device,token,signature,expired\n0,a,{SIG},maybe\n"
            )),
            2,
            "expired must be",
        ),
    ];
    for (e, line, says) in cases {
        assert_eq!(e.line, line, "{}", e.problem);
        assert!(e.problem.contains(says), "{} lacks {says}", e.problem);
    }
}
