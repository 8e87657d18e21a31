package core

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStreamThreshold(t *testing.T) {
	assert.Equal(t, uintptr(64<<20), streamThreshold(0), "unknown cache")
	assert.Equal(t, uintptr(16<<20), streamThreshold(32<<20), "32 MiB L3")
	assert.Equal(t, uintptr(64<<20), streamThreshold(260<<20), "260 MiB L3")
}

func TestReadSysInt(t *testing.T) {
	dir := t.TempDir()
	size := filepath.Join(dir, "size")
	require.NoError(t, os.WriteFile(size, []byte("32768K\n"), 0o600))
	n, err := readSysInt(size, "K")
	require.NoError(t, err)
	assert.Equal(t, 32768, n)

	bad := filepath.Join(dir, "bad")
	require.NoError(t, os.WriteFile(bad, []byte("32M\n"), 0o600))
	_, err = readSysInt(bad, "K")
	assert.Error(t, err, "a size in M is not a count of K")

	_, err = readSysInt(filepath.Join(dir, "missing"), "K")
	assert.Error(t, err, "missing file")
}

func TestLastLevelCacheBytes(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the cache size is only read on Linux")
	}
	if _, err := os.Stat("/sys/devices/system/cpu/cpu0/cache/index0"); err != nil {
		t.Skip("this Linux reports no cache sizes")
	}
	got := lastLevelCacheBytes()
	assert.GreaterOrEqual(t, got, uintptr(256<<10), "a last-level cache of at least 256 KiB")
}
