//! Bounds on what the server echoes (issue 17 item 5): a long request id is refused rather than
//! copied into headers, error messages cut the user input they quote (REST and gRPC), and an
//! undecodable gRPC message is INVALID_ARGUMENT.

use bytes::{Buf, BufMut};
use serde_json::Value;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::Code;

use crate::harness::{corpus, read_json, serve_args, GrpcServer, TestServer};

const MODEL: &str = "sk-logreg-multiclass-new";

/// The model's `request.json` with `id` set.
fn request_with_id(id: &str) -> Value {
    let mut request = read_json(&corpus(MODEL).join("request.json"));
    request["id"] = Value::String(id.to_owned());
    request
}

/// The size of a response's header block as sent (name: value CRLF).
fn header_bytes(headers: &reqwest::header::HeaderMap) -> usize {
    headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.as_bytes().len() + 4)
        .sum()
}

#[tokio::test]
async fn a_1_mb_request_id_is_refused_and_headers_stay_small() {
    let s = TestServer::start(&corpus(MODEL), "m").await;
    let url = format!("{}/v2/models/m/infer", s.base);
    // At the limit: echoed.
    let id = "i".repeat(1024);
    let r = s
        .client
        .post(&url)
        .json(&request_with_id(&id))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["ce-id"].as_bytes(), id.as_bytes());
    assert!(header_bytes(r.headers()) < 16 * 1024);
    // 1 MB: refused, without echoing it.
    let id = "i".repeat(1 << 20);
    let r = s
        .client
        .post(&url)
        .json(&request_with_id(&id))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);
    let headers = header_bytes(r.headers());
    assert!(headers < 16 * 1024, "{headers} header bytes");
    let body = r.text().await.expect("body");
    assert!(body.len() < 512, "{body}");
    assert!(body.contains("request id is 1048576 bytes long"), "{body}");
}

#[tokio::test]
async fn rest_errors_cut_the_input_they_quote() {
    let s = TestServer::start(&corpus(MODEL), "m").await;
    let mut request = read_json(&corpus(MODEL).join("request.json"));
    request["inputs"][0]["datatype"] = Value::String("n".repeat(1 << 20));
    let (status, body) = s.post("/v2/models/m/infer", request.to_string()).await;
    assert_eq!(status, 400);
    assert!(body.len() < 4096, "{} bytes", body.len());
    assert!(body.contains("more bytes cut"), "{}", &body[..200]);
    let (status, body) = s.get(&format!("/v2/models/{}", "x".repeat(30_000))).await;
    assert_eq!(status, 404);
    assert!(body.len() < 4096, "{} bytes", body.len());
}

/// A codec that sends raw bytes as the message and ignores the answer.
#[derive(Default)]
struct RawCodec;
struct RawEncoder;
struct RawDecoder;

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, buf: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        buf.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = ();
    type Error = tonic::Status;
    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<()>, tonic::Status> {
        buf.advance(buf.remaining());
        Ok(Some(()))
    }
}

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = ();
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

#[tokio::test]
async fn grpc_undecodable_messages_are_invalid_argument_and_errors_are_cut() {
    let model = corpus(MODEL);
    let g = GrpcServer::start(&serve_args(&[
        model.as_os_str(),
        "--name".as_ref(),
        "m".as_ref(),
    ]))
    .await;
    let mut grpc = tonic::client::Grpc::new(g.channel.clone());
    for garbage in [vec![0xff; 64], vec![0x0a, 0x80], b"\x12\x05ab".to_vec()] {
        grpc.ready().await.expect("ready");
        let path = "/inference.GRPCInferenceService/ModelInfer"
            .parse()
            .expect("path");
        let err = grpc
            .unary(tonic::Request::new(garbage.clone()), path, RawCodec)
            .await
            .expect_err("garbage");
        assert_eq!(err.code(), Code::InvalidArgument, "{garbage:?}: {err:?}");
    }

    // An input named with 1 MB: INVALID_ARGUMENT with a short message (not RESOURCE_EXHAUSTED
    // on the client for an oversized status).
    let mut request = read_json(&corpus(MODEL).join("request.json"));
    request["inputs"][0]["name"] = Value::String("n".repeat(1 << 20));
    let mut c = g.client.clone();
    let err = c
        .model_infer(crate::harness::proto_request("m", &request))
        .await
        .expect_err("unknown input");
    assert_eq!(
        err.code(),
        Code::InvalidArgument,
        "{}",
        &err.message()[..200]
    );
    assert!(err.message().len() < 4096, "{}", err.message().len());
    // A 1 MB id: refused.
    let request = read_json(&corpus(MODEL).join("request.json"));
    let mut request = crate::harness::proto_request("m", &request);
    request.id = "i".repeat(1 << 20);
    let err = c.model_infer(request).await.expect_err("long id");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("request id"), "{}", err.message());
}
