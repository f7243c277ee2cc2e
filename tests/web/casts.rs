//! A recorded session's page offers its transcript; the download needs the
//! session's own token, like the page.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use repl_mcp::cast::{Cast, CastInfo, Recordings};
use repl_mcp::web::{WebConfig, WebServer};

use crate::support::{TestBackend, get, path_of};

#[tokio::test]
async fn a_recorded_session_offers_its_cast_to_token_holders() {
    let backend = TestBackend::new(64);
    backend.add("rec", "Python");
    backend.add("plain", "Node");
    let dir = tempfile::tempdir().expect("tempdir");
    let recordings = Arc::new(Recordings::new(Some(dir.path().to_path_buf())));
    let recorder = recordings
        .recorder(false)
        .expect("--record-dir records all");
    recorder.output(b"Python 3\r\n>>> ");
    recorder.input(b"1+1\r", false);
    let path = recordings
        .bind(
            &recorder,
            &CastInfo {
                session_id: "rec".into(),
                preset: "python".into(),
                argv: vec!["python3".into()],
                cols: 80,
                rows: 24,
                ..CastInfo::default()
            },
        )
        .expect("bound");
    assert_eq!(path, dir.path().join("rec.cast"));
    assert!(recorder.finish(Duration::from_secs(10)));

    let config = WebConfig {
        port: 0,
        casts: Some(recordings),
        ..WebConfig::default()
    };
    let web = WebServer::start(config, backend).await.expect("starts");
    let rec = web.register_session("rec");
    let plain = web.register_session("plain");

    let page = get(&web, &path_of(&rec.readonly_url), None).await;
    assert_eq!(page.status, 200);
    let token = rec.readonly_url.split("token=").nth(1).expect("token");
    let link = format!("/s/rec/cast?token={token}");
    assert!(page.body.contains(&link), "{}", page.body);
    let other = get(&web, &path_of(&plain.interactive_url), None).await;
    assert!(!other.body.contains("/cast?"), "not recorded, no link");

    for url in [&rec.readonly_url, &rec.interactive_url] {
        let token = url.split("token=").nth(1).expect("token");
        let got = get(&web, &format!("/s/rec/cast?token={token}"), None).await;
        assert_eq!(got.status, 200);
        assert_eq!(got.header("content-type"), Some("application/x-asciicast"));
        assert!(
            got.header("content-disposition")
                .is_some_and(|d| d.contains("rec.cast"))
        );
        let cast = Cast::parse(&got.body, Path::new("download")).expect("a valid cast");
        assert_eq!(cast.events.len(), 2);
        assert_eq!(cast.header.repl_mcp.expect("meta").preset, "python");
    }

    let plain_token = plain.interactive_url.split("token=").nth(1).expect("token");
    for path in [
        "/s/rec/cast".to_string(),
        "/s/rec/cast?token=nope".to_string(),
        format!("/s/rec/cast?token={plain_token}"),
        format!("/s/plain/cast?token={plain_token}"),
    ] {
        assert_eq!(get(&web, &path, None).await.status, 404, "{path}");
    }
    web.forget_session("rec");
    assert_eq!(
        get(&web, &link, None).await.status,
        404,
        "links die with the session"
    );
}
