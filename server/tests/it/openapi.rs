//! `GET /v2/docs/dataplane.json`: a parseable OpenAPI 3 document whose every path is served.

use serde_json::Value;

use crate::harness::{corpus, TestServer};

#[tokio::test]
async fn every_documented_path_is_served() {
    let server = TestServer::start(&corpus("sk-logreg-multiclass-new").join("model"), "m").await;
    let (status, text) = server.get("/v2/docs/dataplane.json").await;
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&text).expect("the document is JSON");
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 17, "{} paths", paths.len());
    for (template, item) in paths {
        let path = template
            .replace("{model_name}", "m")
            .replace("{model_version}", "1");
        for method in item.as_object().expect("path item").keys() {
            let request = match method.as_str() {
                "get" => server.client.get(format!("{}{path}", server.base)),
                "post" => server
                    .client
                    .post(format!("{}{path}", server.base))
                    .header("content-type", "application/json")
                    .body("{}"),
                other => panic!("{template}: method {other}"),
            };
            let response = request.send().await.expect("send");
            let status = response.status().as_u16();
            let body = response.text().await.expect("body");
            assert!(
                !(status == 404 && body.contains("no route for")) && status != 405,
                "{method} {template}: {status} {body}"
            );
        }
    }
}
