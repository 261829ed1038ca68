# The kit's front door. `make help` lists the targets; README.md explains them.

LESSONS     := $(sort $(patsubst lessons/%/Makefile,%,$(wildcard lessons/[0-9][0-9]-*/Makefile)))
PYTHON      := /usr/bin/python3
DEPS        := sh common/tools/deps.sh
KIT         := PYTHONPATH=$(CURDIR)/harness $(PYTHON) -m kit
LESSON      ?=
EMU         ?=
HOLD        ?=
GUEST       ?=
PARAMS      ?=
GUEST_PARAMS ?=
CPUS        ?=
MEMORY      ?=
PYTEST_ARGS ?=
JOBS        ?= 2
BENCH_RUNS  ?= 7
SUBMISSION  ?=
OUT         ?=
GRADE_BENCH ?= 4
GRADE       := PYTHONPATH=$(CURDIR)/harness $(PYTHON) -m kit.grade

.PHONY: all help deps run debug test bench clean tools $(LESSONS) \
	grade grade-bench handout

all: $(LESSONS)

help:
	@echo "make                 build every lesson into build/"
	@echo "make run [LESSON=NN] [EMU=qemu|bochs] [HOLD=1]"
	@echo "                     boot a lesson (default: the most advanced one)"
	@echo "make run LESSON=07|09 [GUEST=01..04]"
	@echo "                     a hypervisor (VMX, SVM) with a lesson as its guest"
	@echo "make run ... [PARAMS='NAME=VALUE ...'] [GUEST_PARAMS='...'] [CPUS=N] [MEMORY=MiB]"
	@echo "                     patch parameters (a lesson README's table), size the machine"
	@echo "make debug [LESSON=NN] [EMU=qemu|bochs] [PARAMS=...] [CPUS=N] [MEMORY=MiB]"
	@echo "                     a lesson under GDB (QEMU) or Bochs' debugger"
	@echo "make test [PYTEST_ARGS='-k lesson01 -m qemu']"
	@echo "                     build, then run every test on every emulator"
	@echo "                     (JOBS=2 boots in parallel; JOBS=0 runs one by one)"
	@echo "make bench           time each lesson against a bare boot"
	@echo "make docs            the book, into build/docs/html (doxygen)"
	@echo "make screenshots     each lesson's last screen, for the book"
	@echo "make grade [LESSON=NN] [SUBMISSION=tree-or-class] [OUT=dir]"
	@echo "                     score a tree (default: this one) or a class"
	@echo "make grade-bench [LESSON=NN] [JOBS=N]  submissions graded per minute"
	@echo "make handout [OUT=dir]  the student tree, solutions taken out"
	@echo "make deps            install every Debian package the kit needs"
	@echo "make clean           remove build/"

# Check the build tools once, before the first lesson builds.
tools:
	@$(DEPS) ensure build

$(LESSONS): tools
	@$(MAKE) --no-print-directory -C lessons/$@

deps:
	@$(DEPS) install

run: all
	@$(KIT) run --lesson '$(LESSON)' --emu '$(EMU)' --guest '$(GUEST)' \
		--params '$(PARAMS)' --guest-params '$(GUEST_PARAMS)' \
		--cpus '$(CPUS)' --memory '$(MEMORY)' $(if $(HOLD),--hold)

debug: all
	@$(KIT) debug --lesson '$(LESSON)' --emu '$(EMU)' --params '$(PARAMS)' \
		--cpus '$(CPUS)' --memory '$(MEMORY)'

test: all
	@$(DEPS) ensure test sandbox
	@$(DEPS) ensure --soft qemu bochs debug docs browser
	$(PYTHON) -m pytest -c harness/pytest.ini --rootdir=harness -n $(JOBS) $(PYTEST_ARGS)

.PHONY: docs screenshots
# The book: build/docs/html, from docs/Doxyfile (harness/kit/docs.py), with
# a screenshot of each lesson when QEMU is here. Fails on any warning.
docs: all
	@$(DEPS) ensure docs
	@$(DEPS) ensure --soft qemu
	@$(KIT) docs --out build/docs

screenshots: all
	@$(DEPS) ensure qemu
	@$(KIT) screenshots --out build/docs/screenshots

bench: all
	@$(DEPS) ensure --soft qemu bochs
	@$(KIT) bench --runs $(BENCH_RUNS)

# Instructors: score a tree or a class of them (README.md, "For instructors").
grade: tools
	@$(DEPS) ensure test sandbox
	@$(DEPS) ensure --soft qemu bochs
	@$(GRADE) '$(or $(SUBMISSION),.)' --lesson '$(LESSON)' \
		-j $(or $(filter-out 0,$(JOBS)),1) $(if $(OUT),--out '$(OUT)')

grade-bench: tools
	@$(DEPS) ensure test sandbox
	@$(DEPS) ensure --soft qemu bochs
	@$(GRADE) --bench $(GRADE_BENCH) --lesson '$(LESSON)' \
		-j $(or $(filter-out 0,$(JOBS)),1)

handout: tools
	@PYTHONPATH=$(CURDIR)/harness $(PYTHON) -m kit.handout \
		$(if $(OUT),--out '$(OUT)',--force --out build/handout)

clean:
	rm -rf build
