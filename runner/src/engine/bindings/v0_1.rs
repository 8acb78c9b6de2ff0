//! `focus:scenario@0.1.0`, from the frozen `wit/history/0.1.0`.

wasmtime::component::bindgen!({
    world: "scenario",
    path: "../wit/history/0.1.0",
    imports: { default: async | trappable },
    exports: { default: async },
});
