# softmaxce build, test and install targets. Needs Go >= 1.26, a C compiler
# and Python 3 with pip.

GO ?= go
CC ?= cc
PYTHON ?= python3
PREFIX ?= /usr/local

LIB := python/softmaxce/libsoftmaxce.so
GO_SOURCES := $(shell find core capi -name '*.go' -o -name '*.s' -o -name '*.c' -o -name '*.h')


.PHONY: all lib fastpath demo test test-deps test-go test-c test-python test-large fuzz bench install clean

all: lib

lib: $(LIB) fastpath

$(LIB): $(GO_SOURCES) go.mod
	CGO_ENABLED=1 $(GO) build -buildmode=c-shared -o $@ ./capi
	rm -f $(@:.so=.h)

# The extension module of the Python fast path, built next to the library
# for $(PYTHON) (pip install builds it through setup.py instead). Its file
# name and include paths come from $(PYTHON) when the recipe runs, after
# test-deps may have installed numpy.
fastpath:
	@config=$$($(PYTHON) -c 'import sysconfig, numpy; \
		print(sysconfig.get_config_var("EXT_SUFFIX"), sysconfig.get_paths()["include"], \
		numpy.get_include())' 2>/dev/null) || { \
		echo "make: building softmaxce._fastpath needs numpy in $(PYTHON); install it" \
			"with: $(PYTHON) -m pip install numpy" >&2; exit 1; }; \
	set -- $$config; \
	out=python/softmaxce/_fastpath$$1; \
	for source in python/softmaxce/_fastpath.c capi/softmaxce.h capi/softmaxce_private.h; do \
		if [ ! -f "$$out" ] || [ "$$source" -nt "$$out" ]; then \
			echo "$(CC) -O2 -Wall -Wextra -Werror -shared -fPIC -Icapi -I$$2 -I$$3" \
				"-o $$out python/softmaxce/_fastpath.c"; \
			$(CC) -O2 -Wall -Wextra -Werror -shared -fPIC -Icapi -I"$$2" -I"$$3" \
				-o "$$out" python/softmaxce/_fastpath.c || exit 1; \
			break; \
		fi; \
	done

demo: lib
	PYTHONPATH=python $(PYTHON) -m softmaxce demo

bench: lib
	PYTHONPATH=python $(PYTHON) -m softmaxce bench $(BENCH_ARGS)

# Installs the Python packages the tests compare against (PyTorch,
# TensorFlow) into the current Python environment.
test-deps:
	$(PYTHON) -m pip install -q -r requirements-test.txt

test: test-deps test-go test-c test-python

# FUZZTIME is how long each Go fuzz target mutates its corpus.
FUZZTIME ?= 30s

# go test replays the committed fuzz corpus (core/testdata/fuzz), then each
# fuzz target mutates it for FUZZTIME.
test-go:
	$(GO) vet ./...
	$(GO) test ./...
	$(GO) test -tags purego ./core
	bash tests/go/fuzz_short.sh $(FUZZTIME)

# Only the mutation runs, for example make fuzz FUZZTIME=10m.
fuzz:
	bash tests/go/fuzz_short.sh $(FUZZTIME)

build/example: examples/example.c capi/softmaxce.h $(LIB)
	@mkdir -p build
	$(CC) -std=c99 -Wall -Wextra -pedantic -Werror -Icapi -o $@ examples/example.c \
		-Lpython/softmaxce -lsoftmaxce -Wl,-rpath,'$$ORIGIN/../python/softmaxce' -lm

test-c: build/example
	$(CC) -std=c99 -Wall -Wextra -pedantic -Werror -fsyntax-only -Icapi -x c capi/softmaxce.h
	c++ -std=c++11 -Wall -Wextra -pedantic -Werror -fsyntax-only -Icapi -x c++ capi/softmaxce.h
	./build/example
	sh tests/c/test_install.sh
	bash tests/c/run.sh

# Tests marked large: more than 2^31 elements (about 8 GiB) and 10^6 calls.
test-large: lib
	PYTHONPATH=python $(PYTHON) -m pytest -q tests/python -m large --run-large

test-python: lib
	PYTHONPATH=python $(PYTHON) -m pytest -q tests/python python/softmaxce --doctest-modules

install: $(LIB)
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0755 $(LIB) $(DESTDIR)$(PREFIX)/lib/libsoftmaxce.so
	install -m 0644 capi/softmaxce.h $(DESTDIR)$(PREFIX)/include/softmaxce.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' capi/softmaxce.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/softmaxce.pc

clean:
	rm -rf build $(LIB) $(LIB:.so=.h) python/softmaxce/_fastpath*.so
