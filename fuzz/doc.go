// Package fuzz holds Strata's `go test -fuzz` targets:
//
//   - FuzzFrameDecode: any bytes given to the frame decoder. It must not
//     panic, and every frame it accepts must re-encode to the same bytes.
//   - FuzzManifestDecode: any bytes given to the manifest decoder; what it
//     accepts must re-encode to the same bytes and cover versions 1 on
//     without a gap.
//   - FuzzHintDecode: any bytes, checksum fixed up, given to the hint file
//     reader: what it accepts must be in range and in order, and must
//     encode to a hint that reads back the same.
//   - FuzzValueDecode: any bytes given to the value decoder; what it accepts
//     must re-encode to the same bytes and decode to an equal value.
//   - FuzzValueJSON: any text given to Value.UnmarshalJSON; what it accepts
//     must marshal and read back as the same value.
//   - FuzzRecovery: a committed directory with one segment's bytes replaced
//     by the fuzzer's. Open must fail with ErrCorrupt or recover exactly
//     the committed history up to some version: never a value that was not
//     written, never a commit missing from the middle.
//   - FuzzOps: a sequence of kv operations, clean reopens and power-loss
//     crashes, checked against an in-memory model of every version.
//
// Their seed corpora (testdata/fuzz/) run as ordinary tests under
// go test ./...; see the README for running each under the fuzzer.
package fuzz
