package core

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Threads. A call splits its positions into the fixed blocks of layout.go
// and hands contiguous runs of blocks to a pool of persistent worker
// goroutines, and the calling goroutine runs blocks too. Loss sums are
// stored per block and added in block order, so results are bitwise
// identical for any number of threads. A call with a single block (below
// about blockElements elements) runs on the calling goroutine alone.

// maxThreads is the largest thread count SetNumThreads accepts.
const maxThreads = 1024

// chunksPerThread is how many runs of blocks a call is split into per
// thread: more than one, so that a thread slowed down by other processes
// on the machine does not hold up the call.
const chunksPerThread = 4

// numThreadsEnv is the environment variable read once at start-up to set
// the number of threads: an integer in [1, 1024]. When it is unset or
// invalid, the default is runtime.GOMAXPROCS(0).
const numThreadsEnv = "SOFTMAXCE_NUM_THREADS"

var (
	defaultThreads = threadsFromEnv()
	numThreads     atomic.Int32
)

func init() { numThreads.Store(int32(defaultThreads)) }

func threadsFromEnv() int {
	n, err := strconv.Atoi(strings.TrimSpace(os.Getenv(numThreadsEnv)))
	if err == nil && n >= 1 && n <= maxThreads {
		return n
	}
	return min(runtime.GOMAXPROCS(0), maxThreads)
}

// SetNumThreads sets the number of threads that each call may use, the
// calling goroutine included: n in [1, 1024], or 0 to restore the default
// (SOFTMAXCE_NUM_THREADS at start-up, else runtime.GOMAXPROCS(0)). Results
// do not depend on it. It may be called at any time, and calls already
// running keep the count they started with.
func SetNumThreads(n int) error {
	if n < 0 || n > maxThreads {
		return argumentError("number of threads %d is outside [1, %d] (0 restores the "+
			"default, %d)", n, maxThreads, defaultThreads)
	}
	if n == 0 {
		n = defaultThreads
	}
	numThreads.Store(int32(n))
	return nil
}

// NumThreads returns the number of threads that each call may use.
func NumThreads() int { return int(numThreads.Load()) }

// rangeTask is work split into chunks that may run concurrently.
type rangeTask interface {
	runChunk(i int)
}

// job is one parallelFor call shared with the workers. The caller and each
// worker it reserved hold a reference, and the last to drop one returns the
// job to jobPool: a worker may start only after the caller has run every
// chunk and returned.
type job struct {
	task     rangeTask
	chunks   int64
	next     atomic.Int64 // next chunk to claim
	done     atomic.Int64 // chunks finished
	refs     atomic.Int32
	finished chan struct{} // a worker that finishes the last chunk signals the caller
	panicked atomic.Pointer[chunkPanic]
}

// chunkPanic is a panic recovered in a chunk, raised again by the caller.
type chunkPanic struct {
	value any
	stack []byte
}

var jobPool = sync.Pool{New: func() any { return &job{finished: make(chan struct{}, 1)} }}

var workers struct {
	mu      sync.Mutex
	started atomic.Int32
	idle    atomic.Int32 // workers waiting for a job, or about to, and not reserved
	jobs    chan *job    // unbuffered: a send waits for a reserved worker
}

// startWorkers makes sure that at least n worker goroutines run. Workers
// live as long as the process, and idle ones block on the job channel.
func startWorkers(n int) {
	if int(workers.started.Load()) >= n {
		return
	}
	workers.mu.Lock()
	defer workers.mu.Unlock()
	if workers.jobs == nil {
		workers.jobs = make(chan *job)
	}
	for int(workers.started.Load()) < n {
		workers.idle.Add(1)
		go work(workers.jobs)
		workers.started.Add(1)
	}
}

// work is the loop of a worker goroutine. A caller reserves an idle worker
// by decrementing workers.idle and then sends it a job. The worker counts
// itself idle again before it signals the end of a job, so that a caller
// that starts its next call at once finds it.
func work(jobs <-chan *job) {
	// Callers through the C interface turn faults on bad pointers into
	// errors. Here a fault becomes a panic, which the caller raises again.
	debug.SetPanicOnFault(true)
	for j := range jobs {
		last := j.work()
		finished := j.finished
		j.release() // the caller holds a reference until it is signalled
		workers.idle.Add(1)
		if last {
			finished <- struct{}{}
		}
	}
}

// parallelFor calls t.runChunk(i) for every i in [0, chunks), on up to
// threads goroutines including the caller, and returns when all are done.
// Workers busy with other calls are not waited for: the caller then runs
// more chunks itself. A panic in a chunk is raised again in the caller once
// every chunk is done.
func parallelFor(t rangeTask, chunks, threads int) {
	threads = min(threads, chunks)
	if threads <= 1 {
		for i := range chunks {
			t.runChunk(i)
		}
		return
	}
	startWorkers(threads - 1)

	j := jobPool.Get().(*job)
	j.task, j.chunks = t, int64(chunks)
	j.next.Store(0)
	j.done.Store(0)
	j.refs.Store(1)
	for helpers := 0; helpers < threads-1; {
		n := workers.idle.Load()
		if n <= 0 {
			break
		}
		if workers.idle.CompareAndSwap(n, n-1) {
			j.refs.Add(1)
			workers.jobs <- j
			helpers++
		}
	}

	if !j.work() {
		<-j.finished
	}
	p := j.panicked.Swap(nil)
	j.release()
	if p != nil {
		panic(fmt.Sprintf("%v\n\nin a softmaxce worker goroutine:\n%s", p.value, p.stack))
	}
}

// work runs chunks until none is left to claim and reports whether this
// goroutine finished the last one. A worker that did must signal the
// caller, which otherwise waits for that signal.
func (j *job) work() (last bool) {
	for {
		i := j.next.Add(1) - 1
		if i >= j.chunks {
			return false
		}
		j.run(int(i))
		if j.done.Add(1) == j.chunks {
			return true
		}
	}
}

func (j *job) run(i int) {
	defer func() {
		if r := recover(); r != nil {
			j.panicked.CompareAndSwap(nil, &chunkPanic{value: r, stack: debug.Stack()})
		}
	}()
	j.task.runChunk(i)
}

func (j *job) release() {
	if j.refs.Add(-1) == 0 {
		j.task = nil
		jobPool.Put(j)
	}
}

// splitBlocks divides blocks into contiguous chunks for threads threads and
// returns the number of blocks per chunk and the number of chunks.
func splitBlocks(blocks, threads int) (perChunk, chunks int) {
	chunks = max(1, min(blocks, threads*chunksPerThread))
	perChunk = (blocks + chunks - 1) / chunks
	return perChunk, (blocks + perChunk - 1) / perChunk
}

// callThreads returns the number of threads for a call of the given number
// of blocks.
func callThreads(blocks int) int {
	return min(NumThreads(), blocks)
}

// objectPools holds a sync.Pool per type for acquire and release.
var objectPools sync.Map // map[*E]*sync.Pool, keyed by a nil *E

// acquire returns a zero *E from a pool, so that per-call state that
// workers share does not cost an allocation in steady state.
func acquire[E any]() *E {
	return poolOf[E]().Get().(*E)
}

// release zeroes *p, dropping its references, and returns it to the pool.
func release[E any](p *E) {
	var zero E
	*p = zero
	poolOf[E]().Put(p)
}

func poolOf[E any]() *sync.Pool {
	key := (*E)(nil)
	if p, ok := objectPools.Load(key); ok {
		return p.(*sync.Pool)
	}
	p, _ := objectPools.LoadOrStore(key, &sync.Pool{New: func() any { return new(E) }})
	return p.(*sync.Pool)
}
