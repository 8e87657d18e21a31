package core

import (
	"os"
	"path/filepath"
	"strconv"
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

// fakeCaches writes a cache directory like Linux's: one index directory per
// cache of the given type, level and size.
func fakeCaches(t *testing.T, caches [][3]string) string {
	t.Helper()
	root := t.TempDir()
	for i, c := range caches {
		dir := filepath.Join(root, "index"+strconv.Itoa(i))
		require.NoError(t, os.Mkdir(dir, 0o700))
		for j, name := range []string{"type", "level", "size"} {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(c[j]+"\n"), 0o600))
		}
	}
	return root
}

func TestLastLevelCacheUnder(t *testing.T) {
	zen5 := fakeCaches(t, [][3]string{{"Data", "1", "48K"}, {"Instruction", "1", "32K"},
		{"Unified", "2", "1024K"}, {"Unified", "3", "32768K"}})
	assert.Equal(t, uintptr(32<<20), lastLevelCacheUnder(zen5), "L3 of four caches")

	noL3 := fakeCaches(t, [][3]string{{"Unified", "2", "2048K"}, {"Data", "1", "32K"}})
	assert.Equal(t, uintptr(2<<20), lastLevelCacheUnder(noL3), "L2 without an L3")

	bigICache := fakeCaches(t, [][3]string{{"Data", "1", "32K"},
		{"Instruction", "4", "65536K"}})
	assert.Equal(t, uintptr(32<<10), lastLevelCacheUnder(bigICache),
		"an instruction cache does not count")

	badSize := fakeCaches(t, [][3]string{{"Data", "1", "32K"}, {"Unified", "3", "lots"}})
	assert.Equal(t, uintptr(32<<10), lastLevelCacheUnder(badSize), "an unreadable size is skipped")

	assert.Equal(t, uintptr(0), lastLevelCacheUnder(t.TempDir()), "no caches")
}

func TestLastLevelCacheBytes(t *testing.T) {
	if _, err := os.Stat("/sys/devices/system/cpu/cpu0/cache/index0"); err != nil {
		t.Skip("this Linux reports no cache sizes")
	}
	got := lastLevelCacheBytes()
	assert.GreaterOrEqual(t, got, uintptr(256<<10), "a last-level cache of at least 256 KiB")
}
