// Package segment owns Strata's on-disk format: segment files, the frames
// in them, their checksums and the compression of values. Nobody else
// parses these bytes.
//
// A data directory holds segment files named by a decimal id,
// "0000000001.seg", "0000000002.seg", ... Commits are appended to the
// newest (active) segment; once it reaches the configured size it is
// synced and sealed, never written again, and read through a read-only
// mapping. Files are created atomically: the header is written to
// "<name>.tmp", synced, renamed into place, and the directory synced.
//
// # Segment file
//
//	offset size  field
//	0      8     magic "STRATA\x00S"                      (never changes)
//	8      4     format version, uint32 LE (currently 1)
//	12     4     segment id, uint32 LE (matches the file name)
//	16     8     reserved, zero
//	24     8     xxhash64 of bytes 0..24, uint64 LE
//	32     ...   frames, back to back, to the end of the file
//
// # Frame (one per commit, whatever its number of entries)
//
//	offset size  field
//	0      4     body length B, uint32 LE (32 <= B <= MaxFrameBody; 32 is
//	             the fixed body, one entry header and a 1-byte run and key)
//	4      8     checksum: xxhash64 of bytes 0..4 followed by the B body
//	             bytes, uint64 LE (so it covers every byte of the frame,
//	             the length included)
//	12     B     body:
//	               0   8  commit version, uint64 LE (> 0)
//	               8   8  commit timestamp, int64 LE, Unix microseconds UTC
//	               16  4  entry count N, uint32 LE (>= 1)
//	               20  .. N entries
//
// Entry:
//
//	0      1     kind: 1 put, 2 tombstone (0 is invalid, so zeroed bytes never parse)
//	1      1     codec of the value: 0 raw, 1 S2 (a tombstone has codec 0)
//	2      2     run length R, uint16 LE (1..MaxRunLen)
//	4      2     key length K, uint16 LE (1..MaxKeyLen)
//	6      4     stored value length V, uint32 LE (a tombstone has V == 0)
//	10     R+K+V run bytes, key bytes, stored value bytes
//
// Every field is fixed-width and every reserved or unused value is
// rejected, so a frame has exactly one encoding: any frame the decoder
// accepts re-encodes to the same bytes. All multi-byte integers are little
// endian. A length read from disk is checked against the bytes that remain
// before it is used; nothing is allocated from a length in a file except a
// compressed value's decoded size, which is capped at 1 GiB.
//
// The stored value bytes are opaque to this package (package kv encodes
// values); this package only compresses them.
//
// # Compression
//
// A value of at least compressMin bytes is compressed with S2 (the
// Snappy-compatible block format of klauspost/compress) and stored
// compressed only if that saves at least an eighth of its size; otherwise
// it is stored raw. S2 was chosen over zstd by measurement
// (BenchmarkCodecs: 1 KiB JSON-like values, one value per call as on the
// commit path, 2-core machine): S2 stored 38% of the input, encoding at
// 0.53 GB/s and decoding at 2.8 GB/s; zstd (SpeedDefault, encoder and
// decoder reused) stored 31%, encoding at 0.13 GB/s and decoding at
// 0.40 GB/s. Every read decodes a value, so a 7x faster decoder is worth
// more than the last 7% of ratio. Codec 2 is reserved
// for zstd should a future option want the better ratio.
//
// # Torn writes and corruption
//
// A frame that is incomplete or fails its checksum at the end of the
// newest segment, with no valid frame after it, is a torn write: recovery
// truncates it. Any other bad frame is corruption. IsTornTail (built on
// FindValidFrame) tells the two apart. Recovery also requires versions to
// run on by one from frame to frame, so a frame cut out whole is caught.
package segment
