!function(d){try{var n=performance.getEntriesByType("navigation")[0];(n&&n.responseStatus==404||d.currentScript.hasAttribute("data-404"))&&vt("404",{path:location.pathname})}catch(e){}}(document);
