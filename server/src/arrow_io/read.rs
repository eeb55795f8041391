//! Record batches from Parquet and Arrow IPC (file or stream) inputs, in batches of bounded
//! size.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use arrow_array::RecordBatch;
use arrow_ipc::reader::{FileReader, StreamReader};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::ArrowError;

/// The magic bytes an Arrow IPC file starts with (a stream starts with a message).
const IPC_FILE_MAGIC: &[u8] = b"ARROW1";

/// An iterator of record batches, at most `batch_rows` rows each for Parquet (IPC batches are
/// as the writer made them).
pub type Batches = Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>> + Send>;

/// Batches of a Parquet file.
pub fn parquet_file(path: &Path, batch_rows: usize) -> Result<Batches, ArrowError> {
    let file =
        File::open(path).map_err(|e| ArrowError::Library(format!("{}: {e}", path.display())))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)?
        .with_batch_size(batch_rows)
        .build()?;
    Ok(Box::new(reader.map(|b| b.map_err(ArrowError::from))))
}

/// Batches of Parquet bytes (standard input, which cannot seek).
pub fn parquet_bytes(bytes: Vec<u8>, batch_rows: usize) -> Result<Batches, ArrowError> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(axum::body::Bytes::from(bytes))?
        .with_batch_size(batch_rows)
        .build()?;
    Ok(Box::new(reader.map(|b| b.map_err(ArrowError::from))))
}

/// Batches of an Arrow IPC file or stream (told apart by the file magic).
pub fn ipc_file(path: &Path) -> Result<Batches, ArrowError> {
    let mut file =
        File::open(path).map_err(|e| ArrowError::Library(format!("{}: {e}", path.display())))?;
    let mut magic = [0u8; 6];
    let is_file = file.read_exact(&mut magic).is_ok() && magic == IPC_FILE_MAGIC;
    drop(file);
    let file =
        File::open(path).map_err(|e| ArrowError::Library(format!("{}: {e}", path.display())))?;
    if is_file {
        let reader = FileReader::try_new(BufReader::new(file), None)?;
        Ok(Box::new(reader.map(|b| b.map_err(ArrowError::from))))
    } else {
        ipc_stream(BufReader::new(file))
    }
}

/// Batches of an Arrow IPC stream (`application/vnd.apache.arrow.stream`, standard input).
pub fn ipc_stream<R: Read + Send + 'static>(reader: R) -> Result<Batches, ArrowError> {
    let reader = StreamReader::try_new(reader, None)?;
    Ok(Box::new(reader.map(|b| b.map_err(ArrowError::from))))
}
