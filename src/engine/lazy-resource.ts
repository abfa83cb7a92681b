// Something heavy (an encoder, a speech model) loaded on first use and released after an idle
// time, so text-only use pays nothing for it: the encoders of a 9B vision model hold hundreds of MiB.

export class LazyResource<T> {
    private value: T | undefined;
    private opening: Promise<T> | undefined;
    private users = 0;
    private timer: NodeJS.Timeout | undefined;

    /** idleSeconds: release after this long unused; undefined or 0: keep until disposed. */
    constructor(
        private readonly open: () => Promise<T> | T,
        private readonly close: (value: T) => Promise<void> | void,
        private readonly idleSeconds?: number,
        private readonly onChange?: (event: "loaded" | "released") => void,
    ) {}

    /** Runs `job` with the resource loaded; it is not released while a job runs. */
    async use<R>(job: (value: T) => Promise<R> | R): Promise<R> {
        clearTimeout(this.timer);
        this.users++;
        try {
            if (!this.value) {
                // Callers that arrive while it opens wait for the same opening; it is announced once.
                this.opening ??= Promise.resolve(this.open())
                    .then((v) => {
                        this.value = v;
                        this.onChange?.("loaded");
                        return v;
                    })
                    .finally(() => {
                        this.opening = undefined;
                    });
                await this.opening;
            }
            return await job(this.value!);
        } finally {
            this.users--;
            this.armIdleRelease();
        }
    }

    private armIdleRelease(): void {
        if (!this.idleSeconds || this.users > 0 || !this.value) return;
        clearTimeout(this.timer);
        this.timer = setTimeout(
            () =>
                this.release().catch((e) => process.stderr.write(`autoglm: releasing an idle resource failed: ${(e as Error).message}\n`)),
            this.idleSeconds * 1000,
        );
        this.timer.unref(); // an idle timer never keeps the process alive
    }

    /** Frees it now unless a job uses it; the next use loads it again. */
    async release(): Promise<void> {
        clearTimeout(this.timer);
        const value = this.value;
        if (!value || this.users > 0) return;
        this.value = undefined;
        await this.close(value);
        this.onChange?.("released");
    }
}
