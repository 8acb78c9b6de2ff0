//! The Focus Server's gRPC data stream, `pandadatastream.DataStreamService`: the messages
//! ([`DataStream`], [`StreamDataRequest`]), the server ([`DataStreamServiceServer`]) and the
//! client ([`DataStreamServiceClient`]), generated at build time from
//! `proto/pandadatastream.proto` (field names and numbers are the real server's).

#![allow(missing_docs, clippy::all)]

mod generated {
    tonic::include_proto!("pandadatastream");
}

pub use generated::data_stream_service_client::DataStreamServiceClient;
pub use generated::data_stream_service_server::{DataStreamService, DataStreamServiceServer};
pub use generated::{DataStream, StreamDataRequest};
