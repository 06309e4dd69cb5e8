-- Edits one field of the document: the rest must keep its spelling.
return { transform = function(a, ctx) a.meta.remark = 'prod ' .. a.meta.remark return a end }
