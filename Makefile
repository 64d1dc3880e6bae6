# Generic Makefile in the skarnet.org spirit: package-specific data lives in
# package/targets.mak and the generated package/deps.mak.

it: all

.PHONY: it all install check demo bench stress fuzz clean distclean deps

ifeq ($(wildcard config.mak),)

all install: deps
	./configure && $(MAKE) $@
check: deps-test
	./configure && $(MAKE) $@
demo: deps-demo
	./configure && $(MAKE) $@
bench: deps-bench
	./configure && $(MAKE) $@
stress: deps-test
	./configure && $(MAKE) $@
fuzz: deps-fuzz
	./configure && $(MAKE) $@
clean:
	rm -rf build
distclean: clean

else

include config.mak
include package/targets.mak

ifeq ($(SANITIZE),1)
B := build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
B := build/std
SANFLAGS :=
endif

include package/deps.mak

CFLAGS_ALL := $(CFLAGS_AUTO) $(CFLAGS) $(SANFLAGS)
CPPFLAGS_ALL := $(CPPFLAGS_AUTO) $(CPPFLAGS)
LDFLAGS_ALL := $(LDFLAGS_AUTO) $(LDFLAGS) $(SANFLAGS)
ALL_BINS := $(addprefix $(B)/bin/,$(BIN_TARGETS))
TEST_BINS := $(addprefix $(B)/test/,$(TEST_TARGETS))

all: $(ALL_BINS) $(TEST_BINS)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	exec $(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c -o $@ $<

$(B)/libmpop.a: $(addprefix $(B)/,$(LIBMPOP_OBJS))
	rm -f $@
	exec $(AR) rcs $@ $^

$(ALL_BINS) $(TEST_BINS):
	@mkdir -p $(@D)
	exec $(CC) -o $@ $(CFLAGS_ALL) $(LDFLAGS_ALL) $^ $(EXTRA_LIBS) $(SOCKET_LIB) $(SYSCLOCK_LIB) $(SPAWN_LIB) $(TIMER_LIB)

install: all
	for p in $(BIN_TARGETS) ; do \
	  mode=$$(awk -v p=$$p '$$1 == p { print $$2 }' package/modes) ; \
	  install -D -m $${mode:-0755} $(B)/bin/$$p $(DESTDIR)$(bindir)/$$p || exit 1 ; \
	done
	for m in doc/*.[1-9] ; do \
	  [ -e "$$m" ] || continue ; \
	  s=$${m##*.} ; install -D -m 0644 $$m $(DESTDIR)$(mandir)/man$$s/$${m##*/} || exit 1 ; \
	done

check: deps-test all
	MPOP_BUILD=$(B) SANITIZE=$(SANITIZE) tests/run

demo: deps-demo all
	MPOP_BUILD=$(B) tests/demo.sh

bench: deps-bench all
	MPOP_BUILD=$(B) bench/run

# the kill suite (tests/killsuite.bats) with STRESS_KILLS kills
STRESS_KILLS ?= 500
STRESS_SEED ?= 7
stress: deps-test all
	KILLSUITE_KILLS=$(STRESS_KILLS) KILLSUITE_SEED=$(STRESS_SEED) MPOP_BUILD=$(B) SANITIZE=$(SANITIZE) tests/run tests/killsuite.bats

# libFuzzer targets tests/fuzz/*.c, built with clang into build/fuzz/, each
# run for FUZZ_TIME seconds; FUZZ_TARGETS picks some (tests/fuzz/run)
FUZZ_TIME ?= 60
fuzz: deps-fuzz
	FUZZ_TIME=$(FUZZ_TIME) tests/fuzz/run $(FUZZ_TARGETS)

clean:
	rm -rf build

distclean: clean
	rm -f config.mak src/include/mpop/config.h

endif

deps:
	package/deps-install build
deps-test:
	package/deps-install build test
deps-demo:
	package/deps-install build demo
deps-bench:
	package/deps-install build test bench
deps-fuzz:
	package/deps-install build fuzz

.DELETE_ON_ERROR:
