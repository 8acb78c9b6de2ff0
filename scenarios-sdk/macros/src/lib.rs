//! The `#[scenario]` and `#[steady_state]` attributes of `scenarios-sdk`. Use them through
//! `scenarios_sdk::scenario` and `scenarios_sdk::steady_state`; the SDK's documentation
//! explains them in full.
//!
//! Each attribute leaves the function as it is and registers, next to it, a
//! `scenarios_sdk::Scenario` (or `SteadyState`) with `inventory`, so that
//! `scenarios_sdk::export_scenarios!()` finds every one without a list. It also names a
//! constant that only `export_scenarios!()` defines at the crate root, so a crate that forgets
//! that line does not compile.

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::quote;
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprArray, ExprLit, ItemFn, Lit, LitStr, meta};

mod timeout;

/// Registers a function as a scenario. See `scenarios_sdk::scenario` for the full documentation.
///
/// ```ignore
/// #[scenario(tags = ["p0", "mongodb"], key = "PZ-13640", timeout = "120s")]
/// fn mongodb_scale_down_outage_returns_503_no_orchestration() -> Outcome { Ok(()) }
/// ```
#[proc_macro_attribute]
pub fn scenario(attr: TokenStream, item: TokenStream) -> TokenStream {
    let function = match syn::parse::<ItemFn>(item) {
        Ok(function) => function,
        Err(error) => {
            return syn::Error::new(
                error.span(),
                "#[scenario] goes on a plain function: `fn name() -> Outcome { … }`",
            )
            .to_compile_error()
            .into();
        }
    };
    let mut args = Arguments::default();
    let parser = meta::parser(|meta| args.parse(meta));
    if let Err(error) = parser.parse(attr) {
        return error.to_compile_error().into();
    }
    match expand(function, args) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// Declares a function as the component's steady-state hypothesis. See
/// `scenarios_sdk::steady_state` for the full documentation.
///
/// ```ignore
/// #[steady_state]
/// fn focus_server_sees_database() -> Outcome { focus_server_steady_state() }
/// ```
#[proc_macro_attribute]
pub fn steady_state(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return syn::Error::new(
            Span::call_site(),
            "#[steady_state] takes no arguments; describe the hypothesis in the doc comment",
        )
        .to_compile_error()
        .into();
    }
    let function = match syn::parse::<ItemFn>(item) {
        Ok(function) => function,
        Err(error) => {
            return syn::Error::new(
                error.span(),
                "#[steady_state] goes on a plain function: `fn name() -> Outcome { … }`",
            )
            .to_compile_error()
            .into();
        }
    };
    match expand_steady_state(function) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// The attribute's arguments as written.
#[derive(Default)]
struct Arguments {
    tags: Vec<LitStr>,
    key: Option<LitStr>,
    timeout: Option<(std::time::Duration, Span)>,
    description: Option<LitStr>,
}

impl Arguments {
    fn parse(&mut self, meta: meta::ParseNestedMeta<'_>) -> syn::Result<()> {
        if meta.path.is_ident("tags") {
            let array: ExprArray = meta.value()?.parse()?;
            for element in array.elems {
                let tag = string_literal(&element, "a tag")?;
                let text = tag.value();
                if text.is_empty() || text.chars().any(|c| c.is_whitespace() || c == ',') {
                    return Err(syn::Error::new(
                        tag.span(),
                        "a tag is one word without spaces or commas, such as \"p0\" or \"mongodb\"",
                    ));
                }
                self.tags.push(tag);
            }
            Ok(())
        } else if meta.path.is_ident("key") {
            let key: LitStr = meta.value()?.parse()?;
            if key.value().trim().is_empty() {
                return Err(syn::Error::new(
                    key.span(),
                    "the key is a ticket or test key such as \"PZ-13640\"",
                ));
            }
            self.key = Some(key);
            Ok(())
        } else if meta.path.is_ident("timeout") {
            let text: LitStr = meta.value()?.parse()?;
            let timeout =
                timeout::parse(&text.value()).map_err(|why| syn::Error::new(text.span(), why))?;
            self.timeout = Some((timeout, text.span()));
            Ok(())
        } else if meta.path.is_ident("description") {
            self.description = Some(meta.value()?.parse()?);
            Ok(())
        } else {
            Err(meta.error(
                "unknown #[scenario] argument; the arguments are `tags = [\"…\"]`, `key = \"…\"`, \
                 `timeout = \"120s\"` and `description = \"…\"`",
            ))
        }
    }
}

fn string_literal(expr: &Expr, what: &str) -> syn::Result<LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => Ok(text.clone()),
        other => Err(syn::Error::new(
            other.span(),
            format!("{what} must be a string literal"),
        )),
    }
}

fn expand(function: ItemFn, args: Arguments) -> syn::Result<proc_macro2::TokenStream> {
    check_signature(&function)?;
    let ident = &function.sig.ident;
    let name = ident.to_string();
    let description = match &args.description {
        Some(text) => text.value(),
        None => first_doc_paragraph(&function.attrs),
    };
    let tags = &args.tags;
    let key = match &args.key {
        Some(key) => quote!(::core::option::Option::Some(#key)),
        None => quote!(::core::option::Option::None),
    };
    let timeout = match args.timeout {
        Some((timeout, _)) => {
            let (secs, nanos) = (timeout.as_secs(), timeout.subsec_nanos());
            quote!(::core::option::Option::Some(::core::time::Duration::new(#secs, #nanos)))
        }
        None => quote!(::core::option::Option::None),
    };
    let registration = quote! {
        ::scenarios_sdk::Scenario {
            name: #name,
            description: #description,
            tags: &[#(#tags),*],
            key: #key,
            timeout: #timeout,
            run: || ::scenarios_sdk::IntoOutcome::into_outcome(#ident()),
            module: ::core::module_path!(),
            line: ::core::line!(),
        }
    };
    Ok(register(&function, registration))
}

fn expand_steady_state(function: ItemFn) -> syn::Result<proc_macro2::TokenStream> {
    check_signature(&function)?;
    let ident = &function.sig.ident;
    let name = ident.to_string();
    let registration = quote! {
        ::scenarios_sdk::SteadyState {
            name: #name,
            run: || ::scenarios_sdk::IntoOutcome::into_outcome(#ident()),
            module: ::core::module_path!(),
            line: ::core::line!(),
        }
    };
    Ok(register(&function, registration))
}

/// The function, its registration with `inventory`, and the check that
/// `export_scenarios!()` is at the crate root.
fn register(function: &ItemFn, registration: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    quote! {
        #function

        ::scenarios_sdk::__private::inventory::submit! { #registration }

        // Does not compile when the crate root lacks `scenarios_sdk::export_scenarios!();`,
        // which is what exports the registered scenarios from the component.
        const _: () = crate::__scenarios_sdk_export_scenarios_is_missing_at_the_crate_root;
    }
}

fn check_signature(function: &ItemFn) -> syn::Result<()> {
    let sig = &function.sig;
    if let Some(asyncness) = sig.asyncness {
        return Err(syn::Error::new(
            asyncness.span(),
            "a scenario is a plain `fn`: host calls block, so `async` is not needed",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            sig.generics.span(),
            "a scenario takes no generic parameters",
        ));
    }
    if !sig.inputs.is_empty() {
        return Err(syn::Error::new(
            sig.inputs.span(),
            "a scenario takes no arguments: `fn name() -> Outcome`",
        ));
    }
    Ok(())
}

/// The first paragraph of the doc comment, its lines joined by spaces.
fn first_doc_paragraph(attrs: &[Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("doc")) {
        if let syn::Meta::NameValue(pair) = &attr.meta
            && let Expr::Lit(ExprLit {
                lit: Lit::Str(text),
                ..
            }) = &pair.value
        {
            lines.extend(text.value().split('\n').map(|l| l.trim().to_string()));
        }
    }
    lines
        .iter()
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_doc_paragraph_is_the_description() {
        let function: ItemFn = syn::parse_quote! {
            /// Scales MongoDB to 0
            /// and expects a 503.
            ///
            /// Steps: …
            fn outage() -> Outcome { Ok(()) }
        };
        assert_eq!(
            first_doc_paragraph(&function.attrs),
            "Scales MongoDB to 0 and expects a 503."
        );
    }

    #[test]
    fn arguments_are_rejected_with_a_reason() {
        let function: ItemFn = syn::parse_quote! { fn outage(x: u32) -> Outcome { Ok(()) } };
        let error = expand(function, Arguments::default()).unwrap_err();
        assert!(error.to_string().contains("takes no arguments"));
    }

    #[test]
    fn the_expansion_names_the_scenario_after_the_function() {
        let function: ItemFn = syn::parse_quote! { fn outage() -> Outcome { Ok(()) } };
        let tokens = expand(function, Arguments::default()).unwrap().to_string();
        assert!(tokens.contains("name : \"outage\""), "{tokens}");
        assert!(tokens.contains("inventory :: submit"), "{tokens}");
        assert!(
            tokens.contains("__scenarios_sdk_export_scenarios_is_missing_at_the_crate_root"),
            "{tokens}"
        );
    }
}
