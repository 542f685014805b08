"""`training.distribute`: data-parallel training on several devices, and on several processes on JAX.

One host, several devices: TensorFlow's `tf.distribute.MirroredStrategy`, or
JAX's `keras.distribution.DataParallel`. Several hosts: JAX only, with
`jax.distributed.initialize` and `DataParallel` over every process's devices
(Keras 3.15 with TensorFlow 2.21's `MultiWorkerMirroredStrategy` fails inside
`fit`, keras-team/keras#20585). torch has no Keras distribution.

`training.batch_size` is the global batch (the Keras convention): each update
averages the gradient over `batch_size` rows, however many devices and
processes share them, so a recipe trains the same model on 1 or N devices and
its learning rate (and the linear scaling rule's `base_batch_size`) means the
same. The devices are GPUs when the host has any, else CPUs; without GPUs,
`devices: N` splits the CPU into N logical devices (which share its cores: a
way to test, not a speed-up).

Every process runs the same program (SPMD): it prepares the same data, builds
the same model from the same seed, and takes part in every collective
(training, evaluation, saving). Only process 0 writes the run folder; the
others write theirs to a private temporary folder that is removed.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import keras

from kerasforge.errors import ArgumentError, ClusterError, RecipeError
from kerasforge.recipes.schema.training import TrainingSection

# The backend each strategy runs on.
STRATEGY_BACKENDS = {"mirrored": "tensorflow", "data_parallel": "jax"}
# What `auto` picks on each backend that has a strategy.
BACKEND_STRATEGIES = {backend: strategy for strategy, backend in STRATEGY_BACKENDS.items()}
# Seconds process 0 waits for every process to join, and without a heartbeat before it declares a
# process dead. A dead peer is usually found sooner: its collectives fail at once (connection reset).
INITIALIZATION_TIMEOUT = 120
HEARTBEAT_TIMEOUT = 30


@dataclass(frozen=True)
class Cluster:
    """The processes of a multi-process run (`--coordinator`, `--num-processes`, `--process-id`).

    Attributes:
        coordinator: `HOST:PORT` of process 0, reachable by every process.
        num_processes: Integer >= 1.
        process_id: Integer in `0..num_processes-1`; process 0 writes the run folder.
    """

    coordinator: str
    num_processes: int
    process_id: int


@dataclass
class Distribution:
    """The distribution a run trains under.

    Attributes:
        strategy: `none`, `mirrored` or `data_parallel` (`auto` resolved).
        devices: The device names of this process's replicas.
        cluster: The `Cluster`, or None for one process.
    """

    strategy: str
    devices: list[str]
    cluster: Cluster | None = None
    _scope: Any = field(default=None, repr=False)

    @property
    def num_processes(self) -> int:
        """Processes sharing each global batch."""
        return self.cluster.num_processes if self.cluster else 1

    @property
    def process_id(self) -> int:
        """This process's index; 0 writes the run folder."""
        return self.cluster.process_id if self.cluster else 0

    @property
    def replicas(self) -> int:
        """Model replicas over all processes."""
        return len(self.devices) * self.num_processes

    @property
    def shard(self) -> tuple[int, int, int]:
        """(processes, this process, devices that split its batches) for `PreparedData.dataset`.

        TensorFlow's MirroredStrategy splits uneven batches itself, so its devices count as one.
        """
        local = len(self.devices) if self.strategy == "data_parallel" else 1
        return (self.num_processes, self.process_id, local)

    def scope(self):
        """The context to build, fit, evaluate and save the model in."""
        return self._scope() if self._scope is not None else contextlib.nullcontext()

    def describe(self) -> str:
        """One line for the run's progress output."""
        if self.strategy == "none":
            return "one device"
        where = f" x {self.num_processes} processes" if self.cluster else ""
        return f"{self.strategy} over {len(self.devices)} device(s){where}: {', '.join(self.devices)}"


def _backend_mismatch(strategy: str, backend: str) -> RecipeError:
    other = BACKEND_STRATEGIES.get(backend)
    hint = f"use {other!r} or 'auto'" if other else "use 'none'"
    return RecipeError(
        f"`training.distribute.strategy`: {strategy!r} runs on KERAS_BACKEND={STRATEGY_BACKENDS[strategy]}, "
        f"and this process runs {backend}; {hint}. Received: {strategy!r}"
    )


def _resolve_strategy(training: TrainingSection, cluster: Cluster | None, backend: str) -> str:
    strategy = training.distribute.strategy
    if cluster is not None:
        if backend != "jax":
            raise ArgumentError(
                f"--coordinator (a multi-process run) needs KERAS_BACKEND=jax, the backend whose Keras "
                f"distribution spans processes (TensorFlow's MultiWorkerMirroredStrategy fails inside "
                f"Keras 3's fit, keras-team/keras#20585). Received: KERAS_BACKEND={backend}"
            )
        if strategy == "mirrored":  # `none`, the default, is taken as the flags' `data_parallel`
            raise _backend_mismatch(strategy, backend)
        return "data_parallel"
    if strategy == "none":
        return strategy
    if backend == "torch":
        raise RecipeError(
            "`training.distribute.strategy`: the torch backend has no Keras distribution; use 'none', "
            "or KERAS_BACKEND=tensorflow (mirrored) or jax (data_parallel). "
            f"Received: {strategy!r}"
        )
    if strategy == "auto":
        return BACKEND_STRATEGIES[backend]
    if STRATEGY_BACKENDS[strategy] != backend:
        raise _backend_mismatch(strategy, backend)
    return strategy


def _too_few(wanted: int, found: list, kind: str) -> RecipeError:
    return RecipeError(
        f"`training.distribute.devices`: this host has {len(found)} {kind} device(s). "
        f"Received: {wanted}; use a number <= {len(found)} or 'all'"
    )


def _tensorflow_devices(wanted) -> list[str]:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        if wanted != "all" and wanted > len(gpus):
            raise _too_few(wanted, gpus, "GPU")
        return [f"/gpu:{index}" for index in range(len(gpus) if wanted == "all" else wanted)]
    if wanted != "all" and wanted > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * wanted)
        except RuntimeError:
            pass  # TensorFlow already started: the logical devices it has must do
    logical = tf.config.list_logical_devices("CPU")
    if wanted != "all" and wanted > len(logical):
        raise RecipeError(
            f"`training.distribute.devices`: TensorFlow started with {len(logical)} CPU device(s) before it "
            f"could split the CPU into {wanted}; train in a fresh process (the command line does). "
            f"Received: {wanted}"
        )
    return [f"/cpu:{index}" for index in range(len(logical) if wanted == "all" else wanted)]


def _jax_devices(wanted, cluster: Cluster | None) -> list:
    import jax

    if wanted != "all" and wanted > 1:
        # Before anything asks JAX for a device, which starts its backends; only the CPU platform
        # reads it, so a host with GPUs trains on those.
        with contextlib.suppress(RuntimeError):  # JAX already started: the devices it has must do
            jax.config.update("jax_num_cpu_devices", wanted)
    if cluster is not None and cluster.num_processes > 1:
        # Gloo carries the collectives between CPU processes (XLA's default on CPU has none).
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        try:
            jax.distributed.initialize(
                cluster.coordinator,
                cluster.num_processes,
                cluster.process_id,
                initialization_timeout=INITIALIZATION_TIMEOUT,
                heartbeat_timeout_seconds=HEARTBEAT_TIMEOUT,
            )
        except Exception as error:  # JAX raises a bare RuntimeError/XlaRuntimeError with its status
            raise ClusterError(
                f"process {cluster.process_id} of {cluster.num_processes} could not join the coordinator "
                f"{cluster.coordinator} within {INITIALIZATION_TIMEOUT} s: {_first_line(error)}"
            ) from None
    try:
        gpus = jax.local_devices(backend="gpu")
    except RuntimeError:
        gpus = []
    local = gpus or jax.local_devices(backend="cpu")
    if wanted != "all" and wanted > len(local):
        raise _too_few(wanted, local, "GPU" if gpus else "CPU")
    return local if wanted == "all" else local[:wanted]


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def start_distribution(training: TrainingSection, cluster: Cluster | None = None) -> Distribution:
    """Resolves `training.distribute` on this backend and host, and joins the cluster.

    Call before the backend's first computation: splitting the CPU into
    logical devices and `jax.distributed.initialize` only work then.

    Args:
        training: The recipe's `training` section.
        cluster: A `Cluster` for a multi-process run (JAX), or None.

    Returns:
        A `Distribution`.

    Raises:
        RecipeError: the strategy does not run on this backend (torch has
            none), more devices are asked for than the host has, or
            `batch_size` does not split evenly over the processes.
        ArgumentError: a multi-process run on another backend than JAX.
        ClusterError: the processes could not join.

    Example:

    ```python
    distribution = start_distribution(recipe.training)
    with distribution.scope():
        model = build_model(recipe, data)
    ```
    """
    backend = keras.backend.backend()
    strategy = _resolve_strategy(training, cluster, backend)
    if strategy == "none":
        return Distribution("none", [], cluster)
    if cluster is not None and training.batch_size % cluster.num_processes:
        raise RecipeError(
            f"`training.batch_size` is the global batch, and must split evenly over --num-processes "
            f"{cluster.num_processes}. Received: {training.batch_size}"
        )
    wanted = training.distribute.devices
    if strategy == "mirrored":
        import tensorflow as tf

        names = _tensorflow_devices(wanted)
        mirrored = tf.distribute.MirroredStrategy(names)
        return Distribution(strategy, names, cluster, mirrored.scope)
    devices = _jax_devices(wanted, cluster)
    import jax

    everywhere = jax.devices() if cluster is not None else devices
    if cluster is not None:
        everywhere = [device for device in everywhere if device.platform == devices[0].platform]
    # Each process feeds its own share of each global batch (see `shard_of`): no re-sharding by Keras.
    parallel = keras.distribution.DataParallel(devices=everywhere, auto_shard_dataset=False)
    return Distribution(strategy, [str(device) for device in devices], cluster, parallel.scope)


COLLECTIVE_FAILURES = ("Gloo", "coordination service", "heartbeat", "DEADLINE_EXCEEDED", "UNAVAILABLE")


def peer_failure(error: BaseException, distribution: Distribution) -> ClusterError | None:
    """A `ClusterError` when `error` is a collective that failed because another process stopped."""
    if distribution.cluster is None or distribution.num_processes == 1:
        return None
    text = str(error)
    if not any(marker in text for marker in COLLECTIVE_FAILURES):
        return None
    return ClusterError(
        f"process {distribution.process_id} of {distribution.num_processes} stopped: another process "
        f"of the run left or died ({_first_line(error)}); nothing was written"
    )
