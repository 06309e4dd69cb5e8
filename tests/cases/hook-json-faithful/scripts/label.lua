-- Touches only a label: the document must come back exactly as it was.
return { transform = function(a, ctx) a.labels.promoted = 'yes' return a end }
