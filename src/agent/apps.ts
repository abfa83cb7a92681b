// App name <-> package lookups over Open-AutoGLM's tables, with its semantics: a Launch names an app
// exactly; Android's current app is the first table entry whose package occurs in the focus line;
// HarmonyOS's is the first entry whose bundle equals the foreground one.

import { ANDROID_APPS } from "./apps-android.js";
import { DEFAULT_HARMONYOS_ABILITY, HARMONYOS_ABILITIES, HARMONYOS_APPS } from "./apps-harmonyos.js";

export type DeviceType = "adb" | "hdc";

export class AppTable {
    private readonly byName: Map<string, string>;

    constructor(private readonly entries: readonly (readonly [string, string])[]) {
        this.byName = new Map(entries.map(([name, pkg]) => [name, pkg]));
    }

    /** The package (bundle) a Launch of `name` starts; undefined for a name not in the table. */
    packageOf(name: string): string | undefined {
        return this.byName.get(name);
    }

    /** The first app, in table order, whose package occurs in `text` (upstream's substring test). */
    nameInText(text: string): string | undefined {
        return this.entries.find(([, pkg]) => text.includes(pkg))?.[0];
    }

    /** The first app, in table order, whose package is exactly `pkg`. */
    nameOfPackage(pkg: string): string | undefined {
        return this.entries.find(([, p]) => p === pkg)?.[0];
    }

    /** Every name with its package, sorted by name as Python's sorted() orders them (code points). */
    list(): [string, string][] {
        return [...this.byName].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    }
}

export const ANDROID_TABLE = new AppTable(ANDROID_APPS);
export const HARMONYOS_TABLE = new AppTable(HARMONYOS_APPS);

export function appTable(type: DeviceType): AppTable {
    return type === "hdc" ? HARMONYOS_TABLE : ANDROID_TABLE;
}

const ABILITIES = new Map(HARMONYOS_ABILITIES.map(([b, a]) => [b, a]));

/** The ability `aa start -a` opens for a HarmonyOS bundle. */
export function harmonyAbility(bundle: string): string {
    return ABILITIES.get(bundle) ?? DEFAULT_HARMONYOS_ABILITY;
}
