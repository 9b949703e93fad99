package recovery_test

import (
	"testing"

	"github.com/strata-kv/strata/internal/kvtest"
)

func TestMain(m *testing.M) { kvtest.Main(m) }
