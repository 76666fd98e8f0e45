# SPDX-License-Identifier: BSD-3-Clause
# The two set-up commands of the README:
#   make run    install dependencies, build, run cachalot (127.0.0.1:6379)
#   make test   install dependencies, build, run every test suite
BUILD ?= build
ARGS ?=
APT_PKGS = meson ninja-build pkg-config gcc clang libclang-rt-14-dev \
	liburcu-dev liburing-dev libisal-dev libcmocka-dev libmimalloc-dev \
	libssl-dev libluajit-5.1-dev libdpdk-dev \
	redis-server redis-tools python3 python3-redis python3-pytest \
	procps valgrind iproute2 ethtool iputils-ping

.PHONY: deps build run test bench clean format format-check

deps:
	@missing=""; for p in $(APT_PKGS); do \
		dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing; \
		case " $$missing " in *" redis-server "*) \
			echo "stopping the redis-server service the package started (it holds port 6379)"; \
			systemctl disable --now redis-server >/dev/null 2>&1 || \
				service redis-server stop >/dev/null 2>&1 || true ;; \
		esac; \
	fi

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	$(BUILD)/control/cachalot $(ARGS)

test: build
	meson test -C $(BUILD) --print-errorlogs --num-processes 2 \
		--suite unit --suite fuzz --suite integration --suite dpdk \
		--suite bench-smoke

bench: build
	CACHALOT=$(BUILD)/control/cachalot bench/run.sh

format:
	git ls-files '*.c' '*.h' | xargs clang-format -i

format-check:
	git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror

clean:
	rm -rf $(BUILD)
