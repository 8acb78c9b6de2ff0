//! The Focus Server's gRPC data stream, `pandadatastream.DataStreamService`: the messages
//! ([`DataStream`], [`StreamDataRequest`]), the server ([`DataStreamServiceServer`]) and the
//! client ([`DataStreamServiceClient`]), generated at build time from
//! `proto/pandadatastream.proto` (field names and numbers are the real server's); and
//! [`watch`], a client that watches one stream and reports what it saw.

pub mod watch;

pub use watch::{StreamReport, WatchError, watch, watch_with};

#[allow(missing_docs, clippy::all)]
mod generated {
    tonic::include_proto!("pandadatastream");
}

pub use generated::data_stream_service_client::DataStreamServiceClient;
pub use generated::data_stream_service_server::{DataStreamService, DataStreamServiceServer};
pub use generated::{DataStream, StreamDataRequest};

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    /// The field numbers are the real server's: a renumbered field fails here.
    #[test]
    fn fields_have_the_real_servers_numbers() {
        let wire = |m: DataStream| m.encode_to_vec();
        // (field number << 3) | wire type; varint = 0, length-delimited = 2, 32-bit = 5.
        let cases: [(DataStream, u8); 11] = [
            (
                DataStream {
                    start_channel: 1,
                    ..Default::default()
                },
                1 << 3,
            ),
            (
                DataStream {
                    end_channel: 1,
                    ..Default::default()
                },
                2 << 3,
            ),
            (
                DataStream {
                    timestamp_in_milis: vec![1],
                    ..Default::default()
                },
                (3 << 3) | 2,
            ),
            (
                DataStream {
                    row_index: vec![1],
                    ..Default::default()
                },
                (4 << 3) | 2,
            ),
            (
                DataStream {
                    data_shape_x: 1,
                    ..Default::default()
                },
                5 << 3,
            ),
            (
                DataStream {
                    data_shape_y: 1,
                    ..Default::default()
                },
                6 << 3,
            ),
            (
                DataStream {
                    global_maximum: 1.0,
                    ..Default::default()
                },
                (7 << 3) | 5,
            ),
            (
                DataStream {
                    global_minimum: 1.0,
                    ..Default::default()
                },
                (8 << 3) | 5,
            ),
            (
                DataStream {
                    main_data: vec![vec![1]],
                    ..Default::default()
                },
                (9 << 3) | 2,
            ),
            (
                DataStream {
                    job_id: Some(0),
                    ..Default::default()
                },
                10 << 3,
            ),
            (
                DataStream {
                    data_shape_z: Some(0),
                    ..Default::default()
                },
                11 << 3,
            ),
        ];
        for (message, tag) in cases {
            assert_eq!(wire(message.clone())[0], tag, "{message:?}");
        }
        assert_eq!(
            StreamDataRequest { stream_id: 2 }.encode_to_vec(),
            [1 << 3, 2]
        );
    }
}
