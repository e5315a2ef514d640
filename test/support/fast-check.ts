/**
 * Loaded before every unit test file (`--import`, package.json). fast-check caps a generated
 * array or string at 10 elements unless told a size, even under `maxLength: 400`; a property
 * test whose author wrote a bound means it, so the bound is the size.
 */
import fc from "fast-check";

fc.configureGlobal({ defaultSizeToMaxWhenMaxSpecified: true });
