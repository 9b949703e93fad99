package kv

import (
	"fmt"

	"github.com/strata-kv/strata/internal/seam"
	"github.com/strata-kv/strata/internal/vfs"
)

func init() {
	seam.OpenFS = func(fsys vfs.FS, dir string, opts any) (any, error) {
		o, err := opts.(*Options).normalize()
		if err != nil {
			return nil, err
		}
		if o.Durability == InMemory {
			return nil, fmt.Errorf("strata: seam.OpenFS takes Buffered or Strict")
		}
		return openFS(fsys, dir, o)
	}
}
