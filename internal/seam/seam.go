// Package seam lets tests elsewhere in this module reach package kv's
// unexported seams (running the engine on any vfs.FS) without widening
// kv's public API. Package kv fills it in at init; use it through
// internal/kvtest, which gives it types.
package seam

import "github.com/strata-kv/strata/internal/vfs"

// OpenFS opens a kv database in dir on fs. opts is a *kv.Options (nil for
// defaults; Durability must not be InMemory) and the result a *kv.DB.
var OpenFS func(fs vfs.FS, dir string, opts any) (any, error)
