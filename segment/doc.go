// Package segment owns Strata's on-disk format: segment files, the frames
// in them, their checksums and the compression of values. Nobody else
// parses these bytes. It is Strata's implementation, with no
// compatibility promise: applications use package kv (and tools read
// directories with cmd/strata-inspect).
//
// A data directory holds segment files named by a decimal id,
// "0000000001.seg", "0000000002.seg", ... Commits are appended to the
// newest (active) segment; once it reaches the configured size it is
// synced and sealed, never written again, and read through a read-only
// mapping. Files are created atomically: the header is written to
// "<name>.tmp", synced, renamed into place, and the directory synced.
// This is format version 2; version 1 files are recognised and refused
// with an error that says so (ErrOldFormat).
//
// # Segment file
//
//	offset size  field
//	0      8     magic "STRATA\x00S"                                  (never changes)
//	8      4     format version, uint32 LE (2)                        (never moves)
//	12     4     segment id, uint32 LE (matches the file name)
//	16     8     salt, uint64 LE: random, drawn when the file is created
//	24     8     base version, uint64 LE: the version the segment's first
//	             commit takes (the previous segment's last version + 1)
//	32     8     base timestamp, int64 LE, Unix microseconds UTC: no frame
//	             of the segment has an earlier timestamp
//	40     8     last version, uint64 LE: 0 in a log segment; in a compacted
//	             segment the last version of the range it may cover (at
//	             least the base version): the range is Base..Last, or ends
//	             earlier where the manifest says so (a compaction that
//	             splits its output at the segment size starts each output
//	             before it knows where the output will end)
//	48     8     xxhash64 of bytes 0..48, uint64 LE
//	56     ...   frames, back to back, to the end of the file
//
// The tag of a segment is one byte derived from its salt, in 0x80..0xFE
// (so never zero and never 0xFF, the two commonest bytes of damage).
//
// # Log segments and compacted segments
//
// The commit pipeline writes log segments: their commits take every
// version from the base version on, one after another, and their last
// frame's version is the last they cover. Compaction (package
// compaction) rewrites a run of sealed segments whose versions follow
// one another into compacted segments: the header names the range of
// versions covered, BaseVersion..Last, and the frames are the commits of
// that range that compaction kept, whole or in part, in version order,
// with their own versions and timestamps; versions may be skipped, never
// repeated, and there are no sync markers (a compacted segment is
// written and fsynced whole before anything points at it). The manifest
// (see manifest.go) says which segments are live. Each sealed or compacted
// segment may have a hint file (see hint.go) listing its entries without
// their values, so recovery can index it without decoding it. A DropRun
// or ForkRun is one entry of a reserved run, a run event (see event.go),
// whatever the size of the run it changes.
//
// # Frame (one per commit, whatever its number of entries)
//
//	size   field
//	1      tag: the segment's tag byte
//	3      head check, 24 bits LE (see Checksums)
//	1-10   uvarint L: bytes after the head, entries and checksum (4 <= L <= MaxFrameBody)
//	1-10   uvarint version - base version
//	1-10   uvarint timestamp - timestamp of the previous frame (the first
//	       frame of the segment: - base timestamp), microseconds
//	1-10   uvarint S: a claim that the first S bytes of this file had been
//	       fsynced when the frame was written, or 0 for no new claim (S is
//	       then what the frames before claimed, the header's size before
//	       any did). A claim is never below HeaderSize, above the frame's
//	       own offset, or at or below the claim before it.
//	1-10   uvarint N: entry count; 0 makes the frame a sync marker
//	L-4    N entries
//	4      checksum, uint32 LE (see Checksums)
//
// The "head" is everything before the entries: the tag, the head check
// and the five uvarints. A sync marker (N == 0, L == 4, timestamp delta 0,
// S != 0) carries no commit, only a claim: its version field holds the
// version the next commit will take. The writer appends one after each
// background fsync (Buffered mode) and after the last fsync at Close,
// when it claims more of the commits than the frames already did, so that
// damage to the commits of a closed database is provably corruption.
//
// # Entry
//
//	size   field
//	1      flags: bits 0-1 op (1 put, 2 delete: a tombstone); bits 2-3 codec of the
//	       value (0 raw, 1 S2; 0 for a tombstone); bit 4 set when the run is
//	       named here; bits 5-7 run number + 1 for the segment's runs 0..6
//	       (0 when the run is named here or has a higher number)
//	       the run, if named here: uvarint R (1..MaxRunLen) and R bytes of
//	       run name, which takes the next run number of the segment (0, 1,
//	       ...); if its number is 7 or more: that number, uvarint
//	1-2    uvarint K (1..MaxKeyLen), then K key bytes
//	       a put only: uvarint V, then V bytes of stored value
//
// So a run is named once per segment and, for the first seven runs of a
// segment, costs nothing more per entry after that. Framing, the bytes of
// a single-put commit beyond its run name, key and value bytes, is: tag 1
// + head check 3 + L + version + timestamp delta + S + N 1 + flags 1 + K
// + V + checksum 4, plus the run's length uvarint in the commit that
// names it and the run number's uvarint from run 7 on; each uvarint takes
// 1 byte below 128, 2 below 16384, 3 below 2^21 and 4 below 2^28. That is
// 16 bytes at least. The benchmark's commit (16-byte key, 100-byte value,
// commits microseconds apart, a million into the segment) takes 18 in
// Buffered mode, where most frames make no new claim, and 21 in Strict,
// where each group's first frame claims the fsync before it. It is at
// most 24 whenever the run is one of the segment's first seven, the key
// is under 128 bytes, key and value together under 16,000 bytes, the
// segment under 2^21 commits and 256 MiB, and commits come under 16 ms
// apart (3 bytes less for a frame that makes no new claim). The commit
// that names its run in the segment, commits 2 s apart, and a run number
// from 7 on each add a byte (TestFramingBytes checks these figures).
//
// Every varint is minimal and every reserved or unused value is rejected,
// so a frame has exactly one encoding: any frame the decoder accepts
// re-encodes to the same bytes. A length read from disk is checked against
// the bytes that remain before it is used; nothing is allocated from a
// length in a file except a compressed value's decoded size, which is
// capped at 1 GiB.
//
// The stored value bytes are opaque to this package (package kv encodes
// values); this package only compresses them.
//
// # Worked example
//
// The first frame of segment 1 (salt 0x0123456789abcdef, so tag 0x81;
// base version 1; base timestamp 1764000000000000), written 5 us after
// the base timestamp with nothing fsynced since the header: one put of
// run "r", key "k", raw value "hi". Its 21 bytes, field by field
// (TestDocExample checks that the encoder writes exactly these):
//
//	hex          field
//	81           tag: 0x80 | the salt's top byte (0x01)
//	4b 4f 61     head check 0x614f4b (24 bits LE) of the five uvarints
//	0c           L = 12: 8 bytes of entries + 4 of checksum
//	00           version - base version = 0: version 1
//	05           timestamp - base timestamp = 5 us
//	00           S = 0: no new claim (the header's 56 bytes stand)
//	01           N = 1 entry
//	11           flags 0x11: op 1 (put), codec 0 (raw), bit 4: run named here
//	01 72        R = 1, run "r" (it takes run number 0 of the segment)
//	01 6b        K = 1, key "k"
//	02 68 69     V = 2, value "hi"
//	79 52 f1 38  checksum 0x38f15279 (uint32 LE) of the 17 bytes before it
//
// A second put to the same run would carry flags 0x21 (op 1, run
// number 0 + 1 in bits 5-7) and no run name.
//
// # Checksums
//
// Both checks are keyed by the segment's salt: the checksum is the low 32
// bits of mix(xxhash64(the frame's bytes before the checksum) XOR salt),
// and the head check the low 24 bits of mix(xxhash64(the five uvarints)
// XOR salt XOR 0xC2B2AE3D27D4EB4F), where mix is the splitmix64
// finalizer. So a frame of another segment (another salt) never verifies
// here, and a reader accepts a frame only with the version it expects
// next: bytes of frames copied into a value (even a whole segment of the
// same database kept as a blob) are never taken for a frame where one is
// expected, and since frames verify wherever they are, intact frames
// spliced out of order (a commit cut out of the middle of the log,
// repeated, a segment missing) are caught by their versions.
//
// # Torn writes and corruption
//
// Recovery must tell damage a crash can cause (bytes of the last,
// unsynced writes left incomplete, zeroed, garbage or out of order: a
// torn tail) from damage to bytes that were fsynced (corruption). Frames
// claim how much of their file had been fsynced when they were written
// (S above). Scanning stops at the first frame that does not verify, at
// offset E. The bytes at E were certainly fsynced if some frame of the
// segment that verifies claims more than E bytes: then the damage is
// corruption. Otherwise nothing shows they ever reached the disk and the
// rest of the file is a torn tail, whatever its shape (a zeroed hole with
// intact frames after it is one). A frame that verifies where one is
// expected but does not fit there (a wrong version, an impossible claim)
// is corruption too: a crash cannot cause it. Damage anywhere but in the
// newest segment is corruption, since a segment is fsynced whole before
// the next is created, and a writer never appends to a segment it did
// not create: each writable Open fsyncs what it found and starts a new
// segment, with a new salt (so neither stale blocks of a cut tail nor
// frames a copy of the directory writes under the old salt can pass for
// its frames).
//
// A claim is a statement about the file that was true when the frame was
// written, so it stays true wherever the frame's bytes end up: a copy of
// a frame inside a stored value claims no more than was synced before the
// frame, so it can never make a torn tail look like corruption; and
// stored bytes cannot hide a real claim, so they can never make
// corruption look torn. What a crash leaves unproven (the last group
// before it in Strict mode, fsynced or not, when no marker followed) is
// treated as torn.
//
// Finding such a claim takes time linear in the bytes after E: candidate
// offsets are found with a byte search for the tag, each is tested in
// constant time by its head check (a random position passes tag and check
// with probability 2^-32), and only a candidate whose head verifies and
// claims more than E bytes has its body hashed. Bodies that fail to
// verify may cost up to twice the bytes searched; beyond that the search
// stops and takes the many verified heads claiming E for the proof they
// are (they can only be copies of a true claim, or damaged real frames).
package segment
