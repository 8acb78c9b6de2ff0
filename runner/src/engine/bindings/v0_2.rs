//! `focus:scenario@0.2.0`, from `wit/scenario.wit`.

wasmtime::component::bindgen!({
    world: "scenario",
    path: "../wit/scenario.wit",
    imports: { default: async | trappable },
    exports: { default: async },
});
