//! The control plane (issue 17 item 4): the repository API can be turned off or need a bearer
//! token, over REST and gRPC; in single-model mode unloading the only model turns readiness false.

use ironflow_proto::inference::{RepositoryIndexRequest, RepositoryModelUnloadRequest};
use tonic::Code;

use crate::harness::{corpus, serve_args, GrpcServer, TestServer};

const MODEL: &str = "sk-logreg-multiclass-new";

/// POST `path` with an optional `Authorization` header: status and body.
async fn post(s: &TestServer, path: &str, authorization: Option<&str>) -> (u16, String) {
    let mut request = s.client.post(format!("{}{path}", s.base)).body("");
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let r = request.send().await.expect("post");
    let status = r.status().as_u16();
    if status == 401 {
        assert_eq!(
            r.headers().get("www-authenticate").map(|v| v.as_bytes()),
            Some(&b"Bearer"[..])
        );
    }
    (status, r.text().await.expect("body"))
}

#[tokio::test]
async fn the_repository_api_can_be_turned_off() {
    let s = TestServer::start_with(&corpus(MODEL), "m", |a| {
        a.repository_api_enabled = Some(false);
    })
    .await;
    for path in [
        "/v2/repository/index",
        "/v2/repository/models/m/load",
        "/v2/repository/models/m/unload",
    ] {
        let (status, body) = post(&s, path, None).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body.contains("repository_api_enabled"), "{body}");
    }
    // The model still serves and the server stays ready.
    assert_eq!(s.get("/v2/models/m/ready").await.0, 200);
    assert_eq!(s.get("/v2/health/ready").await.0, 200);
}

#[tokio::test]
async fn a_token_protects_the_repository_api() {
    let s = TestServer::start_with(&corpus(MODEL), "m", |a| {
        a.repository_api_token = Some("s3cret-token".into());
    })
    .await;
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("s3cret-token"),
        Some("Basic s3cret-token"),
    ] {
        let (status, body) = post(&s, "/v2/repository/index", auth).await;
        assert_eq!(status, 401, "{auth:?}: {body}");
        assert!(
            !body.contains("s3cret"),
            "the token is never echoed: {body}"
        );
        let (status, _) = post(&s, "/v2/repository/models/m/unload", auth).await;
        assert_eq!(status, 401);
    }
    assert_eq!(s.get("/v2/models/m/ready").await.0, 200, "nothing unloaded");
    let (status, body) = post(&s, "/v2/repository/index", Some("Bearer s3cret-token")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"READY\""), "{body}");
}

/// Served as one model (no `--name`): unloading it turns readiness false, loading it again true.
#[tokio::test]
async fn unloading_the_only_model_turns_readiness_false() {
    let s = TestServer::start_with(&corpus(MODEL), "m", |a| a.name = None).await;
    let (_, index) = post(&s, "/v2/repository/index", None).await;
    let index: serde_json::Value = serde_json::from_str(&index).expect("index");
    let name = index[0]["name"].as_str().expect("name").to_owned();
    assert_eq!(s.get("/v2/health/ready").await.0, 200);
    let (status, body) = post(&s, &format!("/v2/repository/models/{name}/unload"), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(s.get("/v2/health/ready").await.0, 400);
    let (status, body) = post(&s, &format!("/v2/repository/models/{name}/load"), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(s.get("/v2/health/ready").await.0, 200);
}

#[tokio::test]
async fn grpc_repository_calls_need_the_token_or_are_off() {
    let model = corpus(MODEL);
    let with = |extra: &[&str]| {
        let mut args = vec![model.as_os_str(), "--name".as_ref(), "m".as_ref()];
        args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
        serve_args(&args)
    };
    let g = GrpcServer::start(&with(&["--repository-api-token", "t0ken"])).await;
    let mut c = g.client.clone();
    let err = c
        .repository_index(RepositoryIndexRequest::default())
        .await
        .expect_err("no token");
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    let unload = RepositoryModelUnloadRequest {
        model_name: "m".into(),
        ..Default::default()
    };
    let err = c
        .repository_model_unload(unload.clone())
        .await
        .expect_err("no token");
    assert_eq!(err.code(), Code::Unauthenticated);
    let mut request = tonic::Request::new(RepositoryIndexRequest::default());
    request
        .metadata_mut()
        .insert("authorization", "Bearer t0ken".parse().expect("metadata"));
    let index = c.repository_index(request).await.expect("with the token");
    assert_eq!(index.into_inner().models.len(), 1);

    let g = GrpcServer::start(&with(&["--repository-api-enabled", "false"])).await;
    let mut c = g.client.clone();
    let err = c.repository_model_unload(unload).await.expect_err("off");
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
}
